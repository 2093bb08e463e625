"""From one sync to handler tasks: invitations, joins, messages, votes, encrypted events.

- On the very first start there is no token: the initial sync is taken as the starting
  point and its messages are history, not questions (pending invites are still
  accepted). Messages written in a room before the bot joined are not for it either.
- After a long downtime a room's timeline comes back "limited": the missing part is
  fetched with ``/messages`` (at most :data:`GAP_PAGES` pages of 100 events).
- The bot's own events are ignored; so are edits and notices (other bots).
- In an encrypted room only what was encrypted is read: a message sent there in clear
  is ignored (a client or a server injecting clear text in a private room).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mautrix.types import PaginationDirection, RoomID, SyncToken

from bot.channels.matrix.base import NETWORK_ERRORS, digest, why
from bot.channels.matrix.polls import POLL_RESPONSE
from bot.channels.matrix.sync import feed_crypto, feed_state
from bot.channels.matrix.tasks import Tasks

log = logging.getLogger("coopbot.matrix")

GAP_PAGES = 10
JOIN_ATTEMPTS = 3

Work = Callable[[], Awaitable[None]]


class Handlers:
    """What the channel does with each kind of event (implemented by the channel)."""

    async def join(self, room_id: str) -> None: ...
    async def greet(self, room_id: str, inviter: str | None, join_event_id: str) -> None: ...
    async def encrypted(self, room_id: str, raw: dict[str, Any]) -> None: ...
    async def clear(self, room_id: str, raw: dict[str, Any]) -> None: ...


class Router:
    def __init__(self, channel: Any, handlers: Handlers, tasks: Tasks) -> None:
        self.channel = channel  # has .client, .machine, .sender
        self.handlers = handlers
        self.tasks = tasks
        self._inviters: dict[str, str] = {}
        self._joining: set[str] = set()

    @property
    def me(self) -> str:
        return str(self.channel.client.mxid)

    async def on_sync(self, data: dict[str, Any], since: str | None) -> None:
        await feed_crypto(self.channel.machine, data)
        scheduled: list[Any] = []
        rooms = data.get("rooms") or {}
        for room_id, info in (rooms.get("invite") or {}).items():
            inviter = _inviter((info.get("invite_state") or {}).get("events", []), self.me)
            if inviter:
                self._inviters[room_id] = inviter
            if room_id not in self._joining:
                self._joining.add(room_id)
                scheduled.append(self.tasks.schedule(
                    (room_id, ""), lambda r=room_id: self.handlers.join(r)))
        for room_id, info in (rooms.get("join") or {}).items():
            self._joining.discard(room_id)
            timeline = info.get("timeline") or {}
            events: list[dict[str, Any]] = list(timeline.get("events") or [])
            state = list((info.get("state") or {}).get("events") or [])
            if await feed_state(self.channel.machine, room_id, state + events):
                self.channel.sender.room_became_encrypted(room_id)
            if since is None:
                continue  # first start: this is history
            if timeline.get("limited") and timeline.get("prev_batch"):
                events = await self._fill_gap(room_id, timeline["prev_batch"], since) + events
            scheduled.extend(self._room_events(room_id, _unique(events)))
        self.tasks.batch(str(data.get("next_batch") or since or ""), scheduled)

    def _room_events(self, room_id: str, events: list[dict[str, Any]]) -> list[Any]:
        scheduled = []
        joined_at = _own_join(events, self.me)
        if joined_at is not None:
            # Newly joined: what was said before the bot arrived is not for it.
            join_event = events[joined_at]
            inviter = self._inviters.pop(room_id, None) or _inviter(events[:joined_at], self.me)
            events = events[joined_at + 1 :]
            key = (room_id, inviter or "")
            scheduled.append(self.tasks.schedule(key, lambda: self.handlers.greet(
                room_id, inviter, str(join_event.get("event_id")))))
        for raw in events:
            sender = raw.get("sender")
            if not isinstance(sender, str) or sender == self.me:
                continue  # the bot's own events
            kind = raw.get("type")
            if kind == "m.room.encrypted":
                work: Work = lambda r=raw: self.handlers.encrypted(room_id, r)  # noqa: E731
            elif kind in ("m.room.message", POLL_RESPONSE):
                work = lambda r=raw: self.handlers.clear(room_id, r)  # noqa: E731
            else:
                continue
            scheduled.append(self.tasks.schedule((room_id, sender), work))
        return scheduled

    async def _fill_gap(self, room_id: str, start: str, until: str) -> list[dict[str, Any]]:
        """Events between the stored token and a limited timeline, oldest first."""
        collected: list[dict[str, Any]] = []
        token = start
        for _ in range(GAP_PAGES):
            try:
                page = await self.channel.client.get_messages(
                    RoomID(room_id), PaginationDirection.BACKWARD, from_token=SyncToken(token),
                    to_token=SyncToken(until), limit=100,
                )
            except (*NETWORK_ERRORS, Exception) as exc:
                log.warning("Matrix: could not fetch missed events (%s)", why(exc))
                break
            collected.extend(event.serialize() for event in page.events)
            if not page.events or not page.end or page.end == token:
                break
            token = str(page.end)
        collected.reverse()
        log.info("Matrix: %d missed events fetched in %s", len(collected), digest(room_id))
        return collected


def _inviter(events: list[dict[str, Any]], me: str) -> str | None:
    """Who invited the bot, from the invite state or a timeline."""
    for event in reversed(events):
        content = event.get("content") or {}
        if (event.get("type") == "m.room.member" and event.get("state_key") == me
                and content.get("membership") == "invite"):
            return str(event.get("sender"))
    return None


def _own_join(events: list[dict[str, Any]], me: str) -> int | None:
    """Index of the bot's own join in ``events`` (a profile change is not a join)."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("type") != "m.room.member" or event.get("state_key") != me:
            continue
        content = event.get("content") or {}
        unsigned = event.get("unsigned") or {}
        previous = (unsigned.get("prev_content") or event.get("prev_content") or {})
        if content.get("membership") == "join" and previous.get("membership") != "join":
            return index
    return None


def _unique(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop duplicates (a filled gap and the timeline may overlap), keeping order."""
    seen: set[str] = set()
    unique: list[dict[str, Any]] = []
    for event in events:
        event_id = event.get("event_id")
        if event_id:
            if event_id in seen:
                continue
            seen.add(event_id)
        unique.append(event)
    return unique
