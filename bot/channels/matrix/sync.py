"""The sync loop, and what each sync gives the crypto machine before any message is read.

Coopbot runs its own loop over ``/sync`` (mautrix's ``Syncer`` stores the token before
the events are handled, which would lose a message on a crash). For each response, in
order and **awaited**, so nothing is lost if the process dies right after:

1. one-time-key counts (new keys uploaded when they run low), device-list changes;
2. to-device events: room keys (``m.room_key`` inside Olm), forwarded keys, key requests;
3. room state (members, encryption) into the state store;

and only then the room timelines, through ``on_rooms`` (a handler per event, see
:mod:`.events`). The token is stored by :class:`.tasks.Tasks` once those are handled.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mautrix.client import Client
from mautrix.crypto import OlmMachine
from mautrix.errors import MatrixRequestError, MUnknownToken
from mautrix.types import DeviceLists, DeviceOTKCount, StateEvent, ToDeviceEvent

from bot.channels.matrix.base import MAX_BACKOFF, NETWORK_ERRORS, until, why

log = logging.getLogger("coopbot.matrix")

SYNC_TIMEOUT_MS = 30_000
TIMELINE_LIMIT = 50
SYNC_FILTER: dict[str, Any] = {
    "presence": {"types": []},
    "account_data": {"types": []},
    "room": {
        "timeline": {"limit": TIMELINE_LIMIT},
        "ephemeral": {"types": []},
        "account_data": {"types": []},
    },
}

OnSync = Callable[[dict[str, Any], str | None], Awaitable[None]]


async def sync_loop(
    client: Client,
    stop: asyncio.Event,
    since: str | None,
    on_sync: OnSync,
    relogin: Callable[[], Awaitable[bool]],
) -> None:
    first = True
    backoff = 1.0
    sync_filter = json.dumps(SYNC_FILTER)
    while not stop.is_set():
        try:
            response = await until(
                stop,
                client.sync(
                    since=since,
                    timeout=0 if first else SYNC_TIMEOUT_MS,
                    filter_id=sync_filter,  # type: ignore[arg-type]  # inline filters are allowed
                    # The first sync of a process brings every room's full state, so the
                    # state store is right even if the last run died mid-way.
                    full_state=bool(first and since),
                ),
            )
        except MUnknownToken:
            log.warning("Matrix: the access token was revoked, logging in again")
            if not await relogin():
                return
            continue
        except (MatrixRequestError, *NETWORK_ERRORS) as exc:
            log.warning("Matrix: sync failed (%s), retrying in %.0f s", why(exc), backoff)
            await until(stop, asyncio.sleep(backoff))
            backoff = min(backoff * 2, MAX_BACKOFF)
            continue
        if response is None:  # stop requested
            return
        backoff = 1.0
        await on_sync(response, since)
        since = response.get("next_batch") or since
        first = False


async def feed_crypto(machine: OlmMachine, data: dict[str, Any]) -> None:
    """Keys and device lists first: a message of this sync may need them."""
    counts = data.get("device_one_time_keys_count") or {}
    await _safely(machine.handle_otk_count(DeviceOTKCount(
        curve25519=counts.get("curve25519", 0),
        signed_curve25519=counts.get("signed_curve25519", 0),
    )), "one-time keys")
    lists = data.get("device_lists") or {}
    if lists.get("changed") or lists.get("left"):
        await _safely(machine.handle_device_lists(DeviceLists(
            changed=lists.get("changed", []), left=lists.get("left", []),
        )), "device lists")
    for raw in (data.get("to_device") or {}).get("events", []):
        kind = raw.get("type")
        try:
            event = ToDeviceEvent.deserialize(raw)
        except Exception:
            log.info("Matrix: unreadable to-device event ignored")
            continue
        if kind == "m.room.encrypted":
            await _safely(machine.handle_to_device_event(event), "to-device event")
        elif kind == "m.room_key_request":
            await _safely(machine.handle_room_key_request(event), "key request")


async def feed_state(machine: OlmMachine, room_id: str, events: list[dict[str, Any]]) -> bool:
    """Room state into the state store; True when the room turned encrypted here."""
    state = machine.state_store
    turned_encrypted = False
    for raw in events:
        if "state_key" not in raw:
            continue
        try:
            event = StateEvent.deserialize({**raw, "room_id": room_id})
        except Exception:
            continue
        if raw.get("type") == "m.room.member":
            await _safely(machine.handle_member_event(event), "member event")
        elif raw.get("type") == "m.room.encryption":
            turned_encrypted = True
        await _safely(state.update_state(event), "room state")
    return turned_encrypted


async def _safely(work: Awaitable[Any], what: str) -> None:
    """A crypto step that fails is logged; it must not stop the sync loop."""
    try:
        await work
    except Exception as exc:
        log.warning("Matrix: %s could not be handled (%s)", what, why(exc))
