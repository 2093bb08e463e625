"""The sender: one loop per channel sends what the outbox says is due.

A channel gives a :data:`Deliver` function (chat address, bubbles → :class:`Delivery`);
this loop claims due messages (:meth:`storage.protocols.Outbox.claim_due`), sends them
one by one, and marks each: ``sent``, ``failed`` (retried later with backoff, see
:mod:`storage.delivery`) or ``unreachable`` (the person blocked the bot: never retried).
The platform's global rate limit is the channel's business (python-telegram-bot's rate
limiter, Matrix's bounded 429 retries); this loop adds the per-chat pace (one message a
second to one chat, Telegram's rule, kept for every channel) and stays idle-cheap: one
claim query every :data:`POLL_SECONDS` when nothing is due.

``render`` resolves a message's ``render`` reference (a chart drawn just before
sending) into pictures; it is passed in, so that drawing stays where it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.messages import Outgoing, from_stored_form
from storage.protocols import Outbox
from storage.records import ClaimedMessage

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
PER_CHAT_GAP = 1.0
"""Seconds between two messages to one chat (Telegram: about one a second)."""


class Delivery(enum.Enum):
    SENT = "sent"
    RETRY = "retry"
    """A passing failure (network, flood control, server): try again later."""
    UNREACHABLE = "unreachable"
    """The platform refuses this chat for good (blocked, removed)."""


Deliver = Callable[[str, list[Outgoing]], Awaitable[Delivery]]
Render = Callable[[Mapping[str, Any]], Awaitable[list[Outgoing]]]


class Sender:
    """Sends one channel's queued messages until stopped."""

    def __init__(self, outbox: Outbox, channel: str, deliver: Deliver,
                 render: Render | None = None, poll: float = POLL_SECONDS,
                 gap: float = 0.0) -> None:
        """``gap``: seconds between any two sends of this loop (a gentle global pace for
        platforms without a rate limiter of their own in front, such as Matrix)."""
        self.outbox = outbox
        self.gap = gap
        self._previous = 0.0
        self.channel = channel
        self.deliver = deliver
        self.render = render
        self.poll = poll
        self._last: dict[str, float] = {}
        self.sent = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                done = await self.once()
            except Exception:  # the database is away for a moment: try again later
                log.exception("outbox (%s): claiming failed", self.channel)
                done = 0
            if not done:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll)

    async def once(self) -> int:
        """Claim what is due and send it; how many messages were handled."""
        claimed = await self.outbox.claim_due(self.channel)
        for message in claimed:
            await self._send(message)
        return len(claimed)

    async def _send(self, message: ClaimedMessage) -> None:
        now = time.monotonic()
        wait = max(self._last.get(message.chat_id, 0.0) + PER_CHAT_GAP,
                   self._previous + self.gap) - now
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            replies = from_stored_form(message.message)
            if message.render and self.render is not None:
                replies.extend(await self.render(message.render))
            result = await self.deliver(message.chat_id, replies)
        except Exception:
            log.exception("outbox (%s): a send failed", self.channel)
            result = Delivery.RETRY
        self._last[message.chat_id] = self._previous = time.monotonic()
        if result is Delivery.SENT:
            await self.outbox.mark_sent(message.id)
            self.sent += 1
        elif result is Delivery.UNREACHABLE:
            log.info("outbox (%s): chat unreachable, not retried (kind=%s)",
                     self.channel, message.kind)
            await self.outbox.mark_unreachable(message.id)
        else:
            await self.outbox.mark_failed(message.id)
