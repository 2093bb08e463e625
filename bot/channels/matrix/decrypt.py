"""Decrypting one room event, waiting a bounded time for a room key that arrives late.

A Megolm message can arrive before its room key (the key travels to-device, in the
same sync or a later one, and a client may send it after the message). So:

1. try at once;
2. wait up to :data:`FIRST_WAIT` for the key (the sync loop keeps running meanwhile);
3. ask the sender's device for it (``m.room_key_request``) and wait up to
   :data:`REQUEST_WAIT` more;
4. still nothing: the message is undecryptable, and the caller sends one notice.

A replayed Megolm message (same index, another event id) and an event whose payload
names another room are refused: they are forgeries, not messages to answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from mautrix.crypto import OlmMachine
from mautrix.errors import (
    DecryptionError,
    DuplicateMessageIndex,
    MismatchingRoomError,
    SessionNotFound,
    VerificationError,
)
from mautrix.types import DeviceID, EncryptedEvent, TrustState, UserID

from bot.channels.matrix.base import NETWORK_ERRORS, digest

log = logging.getLogger("coopbot.matrix")

FIRST_WAIT = 5.0
REQUEST_WAIT = 15.0


@dataclass(frozen=True, slots=True)
class Decrypted:
    event: dict[str, Any] | None
    """The clear event (type, content, sender, event_id), or None."""
    session_id: str = ""
    forged: bool = False
    """Refused on purpose (replay, wrong room, wrong keys): no notice is owed."""
    trust: TrustState | None = None


async def decrypt(machine: OlmMachine, raw: dict[str, Any]) -> Decrypted:
    try:
        event = EncryptedEvent.deserialize(raw)
    except Exception:
        return Decrypted(None, forged=True)
    session_id = str(getattr(event.content, "session_id", "") or "")
    for attempt in range(3):
        try:
            clear = await machine.decrypt_megolm_event(event)
        except SessionNotFound:
            if attempt == 0:
                if await machine.wait_for_session(event.room_id, session_id, FIRST_WAIT):
                    continue
                await _request_key(machine, event)
                await machine.wait_for_session(event.room_id, session_id, REQUEST_WAIT)
                continue
            break
        except (DuplicateMessageIndex, MismatchingRoomError, VerificationError) as exc:
            log.warning("Matrix: refused an encrypted event in %s (%s)",
                        digest(event.room_id), type(exc).__name__)
            return Decrypted(None, session_id, forged=True)
        except DecryptionError as exc:
            log.warning("Matrix: could not decrypt an event in %s (%s)",
                        digest(event.room_id), type(exc).__name__)
            break
        trust = clear.get("mautrix", {}).get("trust_state") if hasattr(clear, "get") else None
        data = clear.serialize()
        data.pop("mautrix", None)
        return Decrypted(data, session_id, trust=trust)
    return Decrypted(None, session_id)


async def _request_key(machine: OlmMachine, event: EncryptedEvent) -> None:
    content = event.content
    device = getattr(content, "device_id", None)
    if not device:
        return
    try:
        await machine.request_room_key(
            event.room_id, content.sender_key, content.session_id,
            from_devices={UserID(event.sender): [DeviceID(device)]}, timeout=0,
        )
    except (*NETWORK_ERRORS, Exception) as exc:  # a failed request only means no key
        log.info("Matrix: key request failed (%s)", type(exc).__name__)
