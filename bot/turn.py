"""What one message's handling needs: the stored conversation and the shared content.

Handlers receive a ``Turn`` rather than the assistant itself, so that each one
sees exactly the transaction it runs in and can queue work for after the commit
(drawing a chart must not hold the database lock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.messages import Incoming, Outgoing
from bot.texts import Texts
from flows.model import Flow
from storage.repository import Conversation

if TYPE_CHECKING:
    from bot.core import Assistant


@dataclass
class Turn:
    assistant: Assistant
    incoming: Incoming
    conv: Conversation
    after_commit: list[Callable[[], list[Outgoing]]] = field(default_factory=list)

    @property
    def texts(self) -> Texts:
        return self.assistant.texts

    @property
    def flows(self) -> dict[str, Flow]:
        return self.assistant.flows

    def say(self, key: str, **params: Any) -> Outgoing:
        return Outgoing(text=self.texts(key, **params))
