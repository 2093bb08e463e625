"""The two values that cross the line between a channel and the assistant.

A channel turns a platform event into an ``Incoming`` and renders each ``Outgoing``
its own way; nothing above the channel knows which platform it serves.

Text markup is a deliberately tiny subset so that every channel can render it:
``**gras**`` for bold and lines starting with ``- `` for bullets. Everything else
is plain text: channels escape it at the edge (see :mod:`bot.markup`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


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
    """A file or picture produced by the assistant."""

    filename: str
    content: bytes
    mime_type: str
    caption: str = ""


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


def stored_form(replies: list[Outgoing]) -> list[dict[str, Any]]:
    """Texts and buttons of the replies, for keeping them until they are delivered.

    Files and pictures are left out: they are drawn again on request (``/export``),
    and a stored chart would weigh more than all the texts of a day.
    """
    return [
        {"text": r.text, "choices": [[c.label, c.payload] for c in r.choices],
         "actions": [[c.label, c.payload] for c in r.actions]}
        for r in replies
        if r.text or r.choices or r.actions
    ]


def from_stored_form(stored: list[dict[str, Any]]) -> list[Outgoing]:
    def buttons(pairs: list[list[str]]) -> tuple[Choice, ...]:
        return tuple(Choice(label, payload) for label, payload in pairs)

    return [
        Outgoing(text=item["text"], choices=buttons(item["choices"]),
                 actions=buttons(item["actions"]))
        for item in stored
    ]


class Handles(Protocol):
    """The seam every channel talks to: :class:`bot.core.Assistant` in production,
    :class:`bot.testing.FunctionAssistant` in tests (declared once, here)."""

    @property
    def commands(self) -> Sequence[tuple[str, str]]:
        """(command, French description) for the platform's menu."""
        ...

    def user_key(self, channel: str, platform_user_id: str) -> str: ...
    async def handle(self, incoming: Incoming) -> list[Outgoing]: ...
    async def delivered(self, incoming: Incoming, replies: list[Outgoing]) -> None: ...
