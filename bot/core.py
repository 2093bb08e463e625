"""The assistant behind every channel: ``Assistant.handle(Incoming) -> list[Outgoing]``.

One call handles one message completely, as load → decide → save: storage loads the
person's data and opens one transaction; :func:`bot.dispatch.route` decides on it
(a command, a button, the active flow, a numbered choice, or a question for the
knowledge base); storage writes what changed, drops a redelivered event, and
commits before this returns — so a reply is only ever sent for what is stored.
What is slow and not needed for the reply, a chart, is drawn in another process
and follows the replies (``follow_ups``, :class:`bot.messages.FollowUps`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot import dispatch
from bot.config import Settings
from bot.content import Content, load_content
from bot.identity import new_secret, pseudonym
from bot.locks import KeyedLocks
from bot.menu import platform_commands
from bot.messages import Attachment, FollowUps, Incoming, Outgoing, from_stored_form, stored_form
from bot.reminders import settle_reminders
from bot.turn import ChartLater, Turn
from flows.parsing import clean_text
from storage.clock import SYSTEM_CLOCK, Clock
from storage.protocols import Conversation, DuplicateEvent, EventRef, Storage
from storage.records import QueuedMessage
from storage.reports.charts.alt import chart_alt
from storage.reports.charts.pool import ChartPool, Charts
from storage.sql.store import open_storage

log = logging.getLogger(__name__)

MAX_INPUT = 4096
"""Longest message read; Telegram's own limit, and far above any useful answer."""

_RENDER_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coopbot-render")
"""Documents asked for (exports, syntheses, with their charts inline) are built here,
after the commit: on the event loop their 0.1–0.3 s of CPU would stall every other
conversation. They are rare and are the reply itself; the chart that follows a
completed questionnaire, frequent, goes to the chart processes instead."""


def remember_address(conv: Conversation, incoming: Incoming, asked: bool) -> None:
    """Keep where to reach a person who has something pending: a workshop in progress
    (for reminders), or what a route asked for (``Turn.keep_address``: a workshop just
    created, for its closing notice). The housekeeping erases it once nothing is pending.

    Only private chats (``Incoming.private``): a reminder goes to the person's own chat,
    never to a group. Unchanged addresses are not written again.
    """
    if incoming.channel == "console" or not incoming.private:
        return
    active = conv.active_session()
    pending = active is not None and active.workshop_id is not None
    if not pending and not asked:
        return
    conv.outbox.remember_address(incoming.user_key, incoming.channel, incoming.chat_id)


def queue_charts(conv: Conversation, incoming: Incoming, turn: Turn) -> None:
    """The chart that follows a summary, queued in the outbox with the answer that
    completed the questionnaire (same transaction): a crash before it is drawn or sent
    loses nothing, and the sender of ``coopbot run`` draws it just before sending
    (:meth:`Assistant.render_queued`). Private chats on a platform only; elsewhere (the
    console, a group) it stays an in-process follow-up."""
    if incoming.channel == "console" or not incoming.private or not turn.follow_ups:
        return
    for number, chart in enumerate(turn.follow_ups):
        conv.outbox.queue(QueuedMessage(
            idempotency_key=f"chart:{incoming.user_key}:{conv.now.isoformat()}:{number}",
            user_key=incoming.user_key, channel=incoming.channel, due_at=conv.now,
            message=[], kind="chart",
            render={"chart": chart.kind, "data": dict(chart.data),
                    "filename": chart.filename, "caption": chart.caption}))
    turn.follow_ups.clear()
    turn.keep_address = True  # until the chart has left


class Assistant:
    """Stateless between calls but for the per-person locks: any worker can serve anyone."""

    charts_through_outbox = False
    """Set by ``coopbot run``, whose senders deliver the outbox: charts then go through
    it (:func:`queue_charts`). Elsewhere nothing sends the outbox, so they follow in
    process (``FollowUps``)."""

    def __init__(self, storage: Storage, content: Content, secret: str,
                 charts: Charts | None = None) -> None:
        self.storage = storage
        self.content = content
        self.charts: Charts = charts or ChartPool()
        """Draws the charts that follow replies; its processes start at the first one."""
        self._secret = secret
        self._locks = KeyedLocks()
        storage.use_secret(secret)  # the chat addresses of the outbox are sealed with it

    @classmethod
    async def create(cls, settings: Settings, content: Content | None = None,
                     charts: Charts | None = None,
                     clock: Clock = SYSTEM_CLOCK) -> Assistant:
        """Connect to the database of ``settings`` (migrating it) and load the content."""
        storage = await open_storage(settings.database_url, clock)
        try:
            secret = settings.secret or await storage.setdefault_value("secret", new_secret())
        except BaseException:
            await storage.close()
            raise
        return cls(storage, content or load_content(settings.retention_days), secret, charts)

    async def close(self) -> None:
        """Stop the chart processes (charts not drawn yet are dropped) and the storage."""
        try:
            await self.charts.close()
        finally:
            await self.storage.close()

    def user_key(self, channel: str, platform_user_id: str) -> str:
        return pseudonym(self._secret, channel, platform_user_id)

    @property
    def commands(self) -> list[tuple[str, str]]:
        """(command, French description) for platform menus, most useful first."""
        return platform_commands(self.content)

    async def handle(self, incoming: Incoming,
                     follow_ups: FollowUps | None = None) -> list[Outgoing]:
        """The replies to ``incoming``, committed; a chart goes to ``follow_ups``.

        The channel sends the replies, then the follow-ups when they are ready
        (:meth:`FollowUps.send_after`). A caller that gives no ``follow_ups`` (one
        that can only send one batch) gets the chart at the end of the replies.
        """
        texts = self.content.texts
        text = incoming.text
        if text is not None and len(text) > MAX_INPUT:
            return [Outgoing(text=texts("errors.too_long", length=len(text), max=MAX_INPUT))]
        if incoming.payload is None and (text is None or not clean_text(text)):
            return [Outgoing(text=texts("errors.no_text" if text is None else "invalid.empty"))]
        event = EventRef(incoming.channel, incoming.message_id) if incoming.message_id else None

        def decide(conv: Conversation) -> tuple[list[Outgoing], Turn]:
            turn = Turn(incoming, conv, self.content)
            before = conv.active_session()
            replies = dispatch.route(turn)
            if not conv.forgotten:
                if self.charts_through_outbox:
                    queue_charts(conv, incoming, turn)
                remember_address(conv, incoming, turn.keep_address)
                settle_reminders(conv, before)
            if event is not None:  # kept until the channel says they left (``delivered``)
                conv.keep_replies(stored_form(replies))
            return replies, turn

        async with self._locks.hold(incoming.user_key):
            try:
                replies, turn = await self.storage.conversation(incoming.user_key, decide,
                                                                event)
            except DuplicateEvent as duplicate:
                if duplicate.unsent and not await self.storage.worker_alive(duplicate.handler):
                    # Handled before, but that worker died before its replies left. (While
                    # it lives, it is still sending them: this copy is dropped.)
                    log.info("redelivered event: its unsent replies go now (channel=%s)",
                             incoming.channel)
                    return from_stored_form(duplicate.unsent)
                log.info("duplicate event dropped (channel=%s)", incoming.channel)
                return []
            except Exception:
                log.exception("failed to handle a message (channel=%s)", incoming.channel)
                return [Outgoing(text=texts("errors.internal"))]
        if turn.after_commit:
            loop = asyncio.get_running_loop()
            for work in turn.after_commit:
                replies.extend(await loop.run_in_executor(_RENDER_THREAD, work))
        if turn.follow_ups:
            later = follow_ups if follow_ups is not None else FollowUps()
            for chart in turn.follow_ups:
                later.add("chart", self._chart(chart))
            if follow_ups is None:
                replies.extend(await later.messages())
        return replies

    async def render_queued(self, reference: Mapping[str, Any]) -> list[Outgoing]:
        """The picture a queued message names (``QueuedMessage.render``), drawn now."""
        if "chart" not in reference:
            return []
        return await self._chart(ChartLater(str(reference["chart"]), reference["data"],
                                            str(reference["filename"]),
                                            str(reference["caption"])))

    async def _chart(self, chart: ChartLater) -> list[Outgoing]:
        png = await self.charts.draw(chart.kind, chart.data)
        if not png:
            return []
        try:
            alt = chart_alt(chart.kind, chart.data)  # what the picture shows, as text
        except Exception:  # a description is a bonus too: the chart still goes
            log.exception("chart description failed for %s", chart.kind)
            alt = ""
        return [Outgoing(image=Attachment(chart.filename, png, "image/png", chart.caption,
                                          alt=alt))]

    async def delivered(self, incoming: Incoming, replies: list[Outgoing]) -> None:
        """The channel has sent ``replies`` (what ``handle`` returned for ``incoming``).

        Until then they are kept with the event, so that a platform redelivering it
        after a crash gets them again. If the process stops between the send and
        this call, a redelivery sends them a second time: at least once, rather
        than perhaps never.
        """
        if incoming.message_id and stored_form(replies):
            try:
                await self.storage.delivered(EventRef(incoming.channel, incoming.message_id))
            except Exception:  # the replies went out; at worst they go again later
                log.exception("could not record a delivery (channel=%s)", incoming.channel)
