"""The two values that cross the line between a channel and the assistant.

A channel turns a platform event into an ``Incoming`` and renders each ``Outgoing``
its own way; nothing above the channel knows which platform it serves. Messages
ready only later (a chart) come through ``FollowUps``, sent after the replies.

Text markup is a deliberately tiny subset so that every channel can render it:
``**gras**`` for bold and lines starting with ``- `` for bullets. Everything else
is plain text: channels escape it at the edge (see :mod:`bot.markup`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One user message or button press, already stripped of platform details."""

    channel: str
    """``console``, ``telegram`` or ``matrix``."""
    user_key: str
    """Stable, pseudonymised key of the person (never a raw platform id)."""
    chat_id: str
    text: str | None = None
    """What the person typed; ``None`` for a button press."""
    payload: str | None = None
    """Opaque data of a pressed button (see :mod:`bot.payloads`)."""
    message_id: str | None = None
    """Platform id of the event, used to drop redeliveries."""
    language: str = "fr"
    bot_address: str | None = None
    """How people reach this bot on this channel (Telegram username, Matrix user id),
    for invitation links; None on the console."""
    private: bool = True
    """The person's own chat with the bot (not a group): only such a chat is kept to
    write to them first (a reminder must never reach a group)."""


@dataclass(frozen=True, slots=True)
class Choice:
    """A button (Telegram, Matrix reply hint) or a numbered line (console)."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file or picture produced by the assistant.

    ``alt`` is a picture's text alternative (RGAA, WCAG 1.1.1): what it shows and its
    figures, for whoever cannot see it. Telegram has no alt text, so the photo's caption
    carries it; Matrix puts it in the ``m.image`` ``body``; the console prints it.
    """

    filename: str
    content: bytes
    mime_type: str
    caption: str = ""
    alt: str = ""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message bubble.

    ``choices`` answer the question and are numbered from 1 in the order given (a typed
    number is understood by the core). ``actions`` are navigation buttons such as
    « Retour » or « Passer »: buttons where the platform has them, never numbered; a
    text channel may show them as the commands they stand for (``Choice.payload`` is
    then ``/retour``, ``/passer``…).
    """

    text: str = ""
    choices: tuple[Choice, ...] = field(default_factory=tuple)
    actions: tuple[Choice, ...] = field(default_factory=tuple)
    file: Attachment | None = None
    image: Attachment | None = None
    listed: bool = False
    """The text already numbers the choices (the recap): a text channel shows them as
    buttons only where it has buttons, and does not list them a second time."""


def stored_form(replies: list[Outgoing]) -> list[dict[str, Any]]:
    """Texts and buttons of the replies, for keeping them until they are delivered.

    Files and pictures are left out: they are drawn again on request (``/export``),
    and a stored chart would weigh more than all the texts of a day.
    """
    return [
        {"text": r.text, "choices": [[c.label, c.payload] for c in r.choices],
         "actions": [[c.label, c.payload] for c in r.actions],
         **({"listed": True} if r.listed else {})}
        for r in replies
        if r.text or r.choices or r.actions
    ]


def from_stored_form(stored: list[dict[str, Any]]) -> list[Outgoing]:
    def buttons(pairs: list[list[str]]) -> tuple[Choice, ...]:
        return tuple(Choice(label, payload) for label, payload in pairs)

    return [
        Outgoing(text=item["text"], choices=buttons(item["choices"]),
                 actions=buttons(item["actions"]), listed=bool(item.get("listed")))
        for item in stored
    ]


# --- follow-ups ------------------------------------------------------------------------
#
# Messages that follow a reply: ready a moment later, sent by the channel after it.
#
# The completing answer of a questionnaire gets its reply (thanks, the summary) at
# once; its chart, drawn in another process (:mod:`storage.reports.charts.pool`),
# follows as a message of its own. The channel creates a ``FollowUps``, passes it to
# ``handle``, sends the replies, then calls :meth:`FollowUps.send_after` with its own
# way of sending: each follow-up goes out when it is ready, after the replies, in the
# order it was added. A follow-up that fails is logged and left out; the replies
# never wait for one.
#
# This is the seam for Coopbot's durable outbox of messages it sends first: a
# follow-up has a ``kind`` (``chart``) so that it can later be queued as such a
# message instead of being held in memory.

Send = Callable[[list[Outgoing]], Awaitable[object]]
"""How a channel sends messages to the person the follow-ups are for."""

_RUNNING: set[asyncio.Task[None]] = set()
"""Strong references to sending tasks (the event loop keeps only weak ones)."""


@dataclass(frozen=True, slots=True)
class FollowUp:
    kind: str
    """``chart``: what the outbox will call it."""
    messages: asyncio.Future[list[Outgoing]]
    """Already under way when added: a chart is drawn while the replies are sent."""


class FollowUps:
    """The follow-ups of one incoming message."""

    def __init__(self) -> None:
        self.pending: list[FollowUp] = []

    def add(self, kind: str, work: Awaitable[list[Outgoing]]) -> None:
        """Start ``work`` now; its messages are sent after the replies."""
        self.pending.append(FollowUp(kind, asyncio.ensure_future(work)))

    def __bool__(self) -> bool:
        return bool(self.pending)

    async def messages(self) -> list[Outgoing]:
        """Every follow-up's messages, in order, once all are ready (failures left out)."""
        ready: list[Outgoing] = []
        for follow_up in self.pending:
            ready.extend(await _settled(follow_up))
        return ready

    def send_after(self, send: Send) -> asyncio.Task[None] | None:
        """Send each follow-up through ``send`` when ready; call it once the replies are sent.

        Returns the sending task (``None`` when there is nothing to follow), which the
        caller may await, e.g. before it stops.
        """
        if not self.pending:
            return None
        pending, self.pending = self.pending, []

        async def deliver() -> None:
            for follow_up in pending:
                messages = await _settled(follow_up)
                if not messages:
                    continue
                try:
                    await send(messages)
                except Exception:
                    log.exception("a follow-up (%s) could not be sent", follow_up.kind)

        task = asyncio.create_task(deliver(), name="coopbot-follow-ups")
        _RUNNING.add(task)
        task.add_done_callback(_RUNNING.discard)
        return task


async def _settled(follow_up: FollowUp) -> list[Outgoing]:
    try:
        return await follow_up.messages
    except asyncio.CancelledError:
        if not follow_up.messages.cancelled():
            raise
        return []
    except Exception:
        log.exception("a follow-up (%s) failed; the conversation goes on without it",
                      follow_up.kind)
        return []


async def drain() -> None:
    """Wait for every follow-up still being sent (a console at end of input, tests)."""
    while _RUNNING:
        await asyncio.gather(*list(_RUNNING), return_exceptions=True)


class Handles(Protocol):
    """The seam every channel talks to: :class:`bot.core.Assistant` in production,
    :class:`bot.testing.FunctionAssistant` in tests (declared once, here)."""

    @property
    def commands(self) -> Sequence[tuple[str, str]]:
        """(command, French description) for the platform's menu."""
        ...

    def user_key(self, channel: str, platform_user_id: str) -> str: ...
    async def handle(self, incoming: Incoming,
                     follow_ups: FollowUps | None = None) -> list[Outgoing]:
        """The replies to send now; what follows them later is added to ``follow_ups``."""
        ...

    async def delivered(self, incoming: Incoming, replies: list[Outgoing]) -> None: ...
