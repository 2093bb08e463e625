"""Test doubles shipped with Coopbot, one per seam, for its tests and for yours.

- :class:`FunctionAssistant`: what a channel talks to, driven by a plain function
  (in the style of httpx's ``MockTransport(handler)``); it records what it received
  and what the channel reported as delivered.
- :func:`memory_assistant`: the real assistant on :class:`MemoryStorage`, the storage
  seam's double — every route, flow and command, no database.
- :class:`ConsoleUser`: a person typing in the console and reading plain text,
  replies at once and follow-ups (a chart) when they arrive.
- :class:`TestClock`: the clock seam (:mod:`storage.clock`) moved by hand, so that a
  reminder due in a day is tested in a millisecond.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.content import Content, load_content
from bot.core import Assistant
from bot.identity import pseudonym
from bot.markup import to_plain
from bot.messages import FollowUps, Incoming, Outgoing
from storage.clock import SYSTEM_CLOCK, Clock
from storage.memory.store import MemoryStorage


class TestClock:
    """A clock that stands still until told: ``advance(hours=25)`` or ``set(moment)``."""

    __test__ = False  # not a pytest test class

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**parts)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


Reply = Callable[[Incoming], list[Outgoing] | Awaitable[list[Outgoing]]]

_CONTENT: list[Content] = []


def shared_content() -> Content:
    """The shipped content, loaded once for a whole test run."""
    if not _CONTENT:
        _CONTENT.append(load_content())
    return _CONTENT[0]


def memory_assistant(content: Content | None = None, secret: str = "test-secret",
                     clock: Clock = SYSTEM_CLOCK) -> Assistant:
    return Assistant(MemoryStorage(clock), content or shared_content(), secret)


@dataclass
class FunctionAssistant:
    """An assistant whose answer to each message is ``reply(incoming)``; when ``follow``
    is given, ``follow(incoming)`` is what follows the replies (as a chart does)."""

    reply: Reply = field(default=lambda _incoming: [])
    follow: Reply | None = None
    commands: list[tuple[str, str]] = field(
        default_factory=lambda: [("start", "Accueil"), ("aide", "Aide")])
    received: list[Incoming] = field(default_factory=list)
    delivered_replies: list[tuple[Incoming, list[Outgoing]]] = field(default_factory=list)

    def user_key(self, channel: str, platform_user_id: str) -> str:
        return pseudonym("test-secret", channel, platform_user_id)

    async def handle(self, incoming: Incoming,
                     follow_ups: FollowUps | None = None) -> list[Outgoing]:
        self.received.append(incoming)
        replies = await _called(self.reply, incoming)
        if self.follow is not None:
            later = _called(self.follow, incoming)
            if follow_ups is None:
                replies.extend(await later)
            else:
                follow_ups.add("test", later)
        return replies

    async def delivered(self, incoming: Incoming, replies: list[Outgoing]) -> None:
        self.delivered_replies.append((incoming, replies))


async def _called(reply: Reply, incoming: Incoming) -> list[Outgoing]:
    result = reply(incoming)
    return list(await result if inspect.isawaitable(result) else result)


def echo(incoming: Incoming) -> list[Outgoing]:
    """A reply function that repeats the text (or the pressed payload)."""
    return [Outgoing(text=incoming.text or incoming.payload or "")]


class ConsoleUser:
    """A person typing in the console: sends text, reads the replies as plain text."""

    def __init__(self, assistant: Assistant, name: str = "alice") -> None:
        self.assistant = assistant
        self.name = name
        self.key = assistant.user_key("console", name)
        self.last: list[Outgoing] = []
        self.arrived: list[Outgoing] = []
        """Follow-ups received and not yet read by :meth:`later`."""
        self._sending: list[asyncio.Task[None]] = []

    async def say(self, text: str, message_id: str | None = None) -> list[Outgoing]:
        return await self._send(
            Incoming("console", self.key, "console", text=text, message_id=message_id))

    async def press(self, payload: str) -> list[Outgoing]:
        return await self._send(Incoming("console", self.key, "console", payload=payload))

    async def _send(self, incoming: Incoming) -> list[Outgoing]:
        follow_ups = FollowUps()
        self.last = await self.assistant.handle(incoming, follow_ups)
        task = follow_ups.send_after(self._receive)
        if task is not None:
            self._sending.append(task)
        return self.last

    async def _receive(self, messages: list[Outgoing]) -> None:
        self.arrived.extend(messages)

    async def later(self, timeout: float = 30) -> list[Outgoing]:
        """The follow-ups (charts) of the messages said so far, once all have arrived."""
        sending, self._sending = self._sending, []
        if sending:
            await asyncio.wait_for(asyncio.gather(*sending), timeout)
        arrived, self.arrived = self.arrived, []
        return arrived

    def text(self) -> str:
        """The texts of the last replies, one bubble per line group."""
        return "\n".join(o.text for o in self.last)

    def plain(self) -> str:
        """The last replies as the console shows them (markup removed)."""
        return "\n".join(to_plain(o.text) for o in self.last)
