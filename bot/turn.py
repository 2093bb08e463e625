"""What one message's handling needs: the message, the person's data, the content.

Handlers receive a ``Turn`` and return the replies. They run inside the message's
transaction, synchronously (see :mod:`storage.database`): they read and change the
conversation, and queue for after the commit what is slow and needs no database —
building a document (``after_commit``), drawing a chart that follows the replies
(``follow_ups``) — so that it never holds the person's lock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.content import Content
from bot.messages import Incoming, Outgoing
from flows.catalogue import Texts
from flows.model import Flow
from storage.protocols import Conversation

Later = Callable[[], list[Outgoing]]
"""Work for after the commit; what it returns is sent after the replies."""


@dataclass(frozen=True, slots=True)
class ChartLater:
    """A chart sent as its own message after the replies, drawn off the reply path.

    Plain data (no closure) so that it can be handed to another process, and later
    be queued in the outbox as a ``chart`` message.
    """

    kind: str
    """Which chart: the summary's name (``facteurs``, ``charte``…)."""
    data: Mapping[str, Any]
    """What it is drawn from: the stored summary."""
    filename: str
    caption: str


@dataclass
class Turn:
    incoming: Incoming
    conv: Conversation
    content: Content
    after_commit: list[Later] = field(default_factory=list)
    follow_ups: list[ChartLater] = field(default_factory=list)
    keep_address: bool = False
    """Set by a route that will need to reach the person later (see ``bot.core``)."""

    @property
    def texts(self) -> Texts:
        return self.content.texts

    @property
    def flows(self) -> Mapping[str, Flow]:
        return self.content.flows

    @property
    def user_key(self) -> str:
        return self.incoming.user_key

    def say(self, key: str, **params: Any) -> Outgoing:
        return Outgoing(text=self.texts(key, **params))


Handler = Callable[[Turn, str], list[Outgoing]]
"""A command: the turn and what was typed after the command's name."""
Confirmation = Callable[[Turn, str], list[Outgoing]]
"""The answer to a question asked outside flows (« effacer vos données ? »)."""
