"""Sending: encrypted wherever the room is, never in clear by mistake, with bounded retries.

- **Encryption is decided here, per room, and fails closed.** The room state store says
  whether a room is encrypted; a room it does not know as encrypted is checked once on
  the homeserver (``m.room.encryption`` state) before anything is sent in clear. If
  encrypting fails (no keys could be shared yet, the homeserver is away), nothing is
  sent and the failure is logged: an answer in clear in a room people believe private
  is worse than a late one.
- **Attachments** in an encrypted room are encrypted (AES-CTR, key and iv in the
  ``file`` object, SHA-256 of the ciphertext) before upload; only the ciphertext
  reaches the media repository.
- **Bounded retries**: HTTP 429 (waiting what the server asks, at most 30 s) and network
  errors are retried a few times, then given up and logged. The transaction id stays
  the same across attempts, so a retried send is not posted twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mautrix.client import Client
from mautrix.crypto.attachments import encrypt_attachment
from mautrix.errors import EncryptionError, MatrixRequestError, MLimitExceeded, MNotFound
from mautrix.types import EventType, RoomID

from bot.channels.matrix.base import NETWORK_ERRORS, digest, why
from bot.channels.matrix_render import encrypted_media_content, media_content
from bot.messages import Attachment

log = logging.getLogger("coopbot.matrix")

MAX_RETRIES = 5
MAX_RETRY_WAIT = 30.0
T = TypeVar("T")


async def bounded(call: Callable[[], Awaitable[T]], what: str) -> T:
    """``call()`` retried on 429 and network errors, at most :data:`MAX_RETRIES` times."""
    pause = 0.5
    for attempt in range(MAX_RETRIES + 1):
        try:
            return await call()
        except MLimitExceeded as exc:
            if attempt == MAX_RETRIES:
                raise
            wait = min(MAX_RETRY_WAIT, (getattr(exc, "retry_after_ms", None) or 1000) / 1000)
        except NETWORK_ERRORS:
            if attempt == MAX_RETRIES:
                raise
            wait = pause
            pause = min(pause * 2, MAX_RETRY_WAIT)
        log.debug("Matrix: %s retried in %.1f s", what, wait)
        await asyncio.sleep(wait)
    raise AssertionError("unreachable")


class Sender:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._clear_rooms: set[str] = set()
        """Rooms checked on the homeserver as unencrypted (this process)."""

    def room_became_encrypted(self, room_id: str) -> None:
        self._clear_rooms.discard(room_id)

    async def is_encrypted(self, room_id: str) -> bool:
        """True unless the homeserver said this room has no encryption (fails closed)."""
        state = self.client.state_store
        if state is not None and await state.is_encrypted(RoomID(room_id)):
            return True
        if room_id in self._clear_rooms:
            return False
        try:
            await bounded(
                lambda: self.client.get_state_event(RoomID(room_id), EventType.ROOM_ENCRYPTION),
                "encryption check",
            )
        except MNotFound:
            self._clear_rooms.add(room_id)
            return False
        return True

    async def send(
        self, room_id: str, content: dict[str, Any], event_type: str = "m.room.message"
    ) -> str | None:
        """Send one event; its id, or None (logged) when it could not be sent safely."""
        kind = EventType.find(event_type, t_class=EventType.Class.MESSAGE)
        room = RoomID(room_id)
        txn_id = self.client.api.get_txn_id()
        try:
            if await self.is_encrypted(room_id):
                payload: Any = await self.client.encrypt(room, kind, content)
                kind = EventType.ROOM_ENCRYPTED
            else:
                payload = content
            event_id = await bounded(
                lambda: self.client.send_message_event(
                    room, kind, payload, txn_id=txn_id, disable_encryption=True
                ),
                "send",
            )
        except (EncryptionError, MatrixRequestError, *NETWORK_ERRORS) as exc:
            log.warning("Matrix: send to %s failed (%s)", digest(room_id), why(exc))
            return None
        except Exception as exc:  # a crypto error must not reach the chain as a crash
            log.error("Matrix: send to %s failed (%s)", digest(room_id), why(exc))
            return None
        return str(event_id)

    async def send_attachment(
        self, room_id: str, attachment: Attachment, msgtype: str, reply_to: str | None
    ) -> str | None:
        try:
            encrypted = await self.is_encrypted(room_id)
        except (MatrixRequestError, *NETWORK_ERRORS) as exc:
            log.warning("Matrix: upload skipped (%s)", why(exc))
            return None
        data, mime = attachment.content, attachment.mime_type
        file = None
        if encrypted:
            data, file = encrypt_attachment(attachment.content)
            mime = "application/octet-stream"
        try:
            mxc = await bounded(
                lambda: self.client.upload_media(
                    data, mime_type=mime, filename=attachment.filename, size=len(data)
                ),
                "upload",
            )
        except (MatrixRequestError, *NETWORK_ERRORS) as exc:
            log.warning("Matrix: upload failed (%s)", why(exc))
            return None
        if file is not None:
            file.url = mxc
            content = encrypted_media_content(attachment, msgtype, file.serialize(), reply_to)
        else:
            content = media_content(attachment, msgtype, str(mxc), reply_to)
        return await self.send(room_id, content)
