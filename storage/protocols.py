"""The storage seams, small on purpose: what the assistant and the channels may ask.

Two implementations stand behind each of them: SQL (:mod:`storage.sql`, SQLite
or PostgreSQL) and memory (:mod:`storage.memory`, for tests that need no
database). The per-message work is one *job*: a plain function given a
:class:`Conversation` — the person's data loaded at the start of the message's
transaction — which decides and records what to keep; storage writes it in the
same transaction and commits before the reply leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from flows.engine import FlowState
from storage.clock import Clock
from storage.records import (
    ClaimedMessage,
    DeliveryCounts,
    GapCount,
    Participant,
    Participation,
    PurgeCounts,
    QueuedMessage,
    SessionRecord,
    WorkshopRecord,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class EventRef:
    """A platform event: a message handled once, whatever the redeliveries."""

    channel: str
    event_id: str


class DuplicateEvent(Exception):
    """The platform delivered this event before; it was handled then.

    ``unsent``: the replies of that handling if the channel never confirmed their
    delivery (the process stopped in between), to be sent now if ``handler`` (the
    worker that was to send them) is dead; else None.
    """

    def __init__(self, event: EventRef, unsent: list[Any] | None = None,
                 handler: int | None = None) -> None:
        super().__init__(event.event_id)
        self.event = event
        self.unsent = unsent
        self.handler = handler


class WorkshopStore(Protocol):
    """Workshops, inside the transaction of the message (or CLI command) using them."""

    now: datetime
    """The moment of the transaction (from the storage's clock)."""

    def create(self, title: str, flow_id: str, facilitator_key: str,
               closes_at: datetime | None = None) -> WorkshopRecord: ...
    def find(self, typed_code: str) -> WorkshopRecord | None: ...
    def get(self, workshop_id: int) -> WorkshopRecord | None: ...
    def readable(self, typed_code: str, user_key: str) -> WorkshopRecord | None:
        """The workshop if this person may read it; None says nothing more, on purpose."""
        ...
    def add_cofacilitator(self, workshop: WorkshopRecord, user_key: str) -> bool: ...
    def close(self, workshop: WorkshopRecord) -> None: ...
    def set_closing(self, workshop: WorkshopRecord, closes_at: datetime) -> WorkshopRecord:
        """Give an open workshop its closing date (replacing any earlier one)."""
        ...
    def participations(self, workshop_id: int) -> list[Participation]: ...
    def has_joined(self, workshop_id: int, user_key: str) -> str | None: ...
    def facilitated_by(self, user_key: str) -> list[WorkshopRecord]: ...
    def wait_before_next_code(self, user_key: str) -> timedelta | None: ...
    def record_wrong_code(self, user_key: str) -> None: ...
    def invite(self, workshop: WorkshopRecord, token: str, expires_at: datetime) -> None: ...
    def invitation(self, token: str) -> WorkshopRecord | None:
        """The workshop of a valid, unexpired invitation."""
        ...
    def drop_invitation(self, token: str) -> None: ...
    def participants(self, workshop_id: int) -> list[Participant]:
        """Each participant's key and latest status (cancelled left out), with whether
        they stopped reminders (state ``reminders_off``): for queuing, never for showing."""
        ...
    def cofacilitators(self, workshop_id: int) -> list[str]: ...
    def closing_by(self, moment: datetime) -> list[WorkshopRecord]:
        """Open workshops with a closing date at or before ``moment``, oldest first."""
        ...


REMINDERS_OFF = "reminders_off"
"""Conversation-state key: workshop ids (or ``"*"`` for all) the person wants no reminder of."""


class MessageQueue(Protocol):
    """Messages Coopbot sends first, queued in the transaction that decides them."""

    def queue(self, message: QueuedMessage) -> bool:
        """Queue it; False (and nothing changed) if its idempotency key was queued before."""
        ...
    def remember_address(self, user_key: str, channel: str, chat_id: str) -> None:
        """Keep (sealed) where to reach this person on this channel; reachable again."""
        ...
    def reachable_channel(self, user_key: str) -> str | None:
        """A channel with a kept address the platform has not refused, newest first."""
        ...
    def cancel(self, user_key: str, kind: str, workshop_id: int | None = None) -> int:
        """Drop this person's pending messages of ``kind`` (for one workshop, or all)."""
        ...
    def workshop_counts(self, workshop_id: int) -> DeliveryCounts: ...
    def reminded_since(self, user_key: str, workshop_id: int, since: datetime) -> bool:
        """Whether a reminder of this workshop was queued for this person since then."""
        ...



class Conversation(Protocol):
    """One person's data during one message; every call runs in its transaction."""

    user_key: str
    now: datetime
    """The moment of this message: everything it writes carries it."""
    workshops: WorkshopStore
    outbox: MessageQueue
    forgotten: bool
    """True once :meth:`forget` ran in this transaction."""

    @property
    def state(self) -> Mapping[str, Any]: ...
    def set_state(self, **changes: Any) -> None:
        """Change the conversation context; a None value removes its key."""
        ...
    @property
    def territory(self) -> str | None:
        """Where the person said they are (``/region``): a department code (« 35 »,
        « 2A ») or a region id (« bretagne »); None when they have not said."""
        ...
    def set_territory(self, key: str | None) -> None:
        """Keep the person's place with their data; None removes it."""
        ...
    def active_session(self) -> SessionRecord | None:
        """The session in progress the next answer goes to (loaded with the person)."""
        ...
    def set_active(self, session: SessionRecord | None) -> None: ...
    def session(self, session_id: int) -> SessionRecord | None: ...
    def open_session_for(self, flow_id: str,
                         workshop_id: int | None = None) -> SessionRecord | None:
        """The newest unfinished session of this flow (and workshop), to resume it."""
        ...
    def start_session(self, state: FlowState, workshop_id: int | None = None) -> SessionRecord:
        ...
    def save_session(self, session: SessionRecord, state: FlowState) -> SessionRecord: ...
    def save_summary(self, session: SessionRecord, summary: Mapping[str, Any]) -> None: ...
    def sessions(self, flow_id: str | None = None) -> list[SessionRecord]:
        """All of the person's sessions with their summaries, oldest first."""
        ...
    def record_kb_gap(self, question: str, kind: str, entry_id: str | None = None) -> None: ...
    def keep_replies(self, replies: list[dict[str, Any]]) -> None:
        """Keep the replies with this message's event until the channel has sent them."""
        ...
    def personal_data(self) -> dict[str, Any]:
        """Everything stored about this person, as JSON-ready data (``/mesdonnees``)."""
        ...
    def forget(self) -> None:
        """Delete every trace of this person (``/oublier``)."""
        ...


class ConversationStore(Protocol):
    async def conversation(self, user_key: str, job: Callable[[Conversation], T],
                           event: EventRef | None = None) -> T:
        """Run ``job`` on the person's data in one transaction, holding their lock.

        Raises :class:`DuplicateEvent` (everything rolled back) when ``event`` was
        handled before.
        """
        ...

    async def workshops(self, job: Callable[[WorkshopStore], T]) -> T:
        """Workshops outside a conversation (the command line), in one transaction."""
        ...


class Outbox(Protocol):
    """Replies on their way to a platform, and the messages Coopbot sends first.

    The sender side of :class:`MessageQueue` (see :mod:`storage.delivery`)."""

    clock: Clock

    worker: int
    """This process's number (see :mod:`storage.liveness`)."""

    async def delivered(self, event: EventRef) -> None:
        """The channel has sent the replies kept with this event: forget them."""
        ...

    async def worker_alive(self, worker: int | None) -> bool: ...

    def use_secret(self, secret: str) -> None:
        """The operator's secret, from which the chat addresses' key is derived."""
        ...
    async def claim_due(self, channel: str, limit: int = 20) -> list[ClaimedMessage]:
        """Due messages for ``channel`` claimed by this worker (dead workers' claims too)."""
        ...
    async def mark_sent(self, message_id: int) -> None: ...
    async def mark_failed(self, message_id: int) -> None:
        """A passing failure: retried later with backoff, given up after some attempts."""
        ...
    async def mark_unreachable(self, message_id: int) -> None:
        """The person blocked the bot: no retry, and their address is marked unreachable."""
        ...
    async def scheduled(self, job: Callable[[WorkshopStore, MessageQueue], T]) -> T:
        """Workshops and the queue outside a conversation (housekeeping), in one transaction."""
        ...
    async def lease(self, name: str, seconds: float) -> bool:
        """Hold (or renew) the lease ``name`` for ``seconds``; False if another worker does."""
        ...


class KeyValueStore(Protocol):
    """Small channel state (Matrix session and sync token, the pseudonym secret…)."""

    async def get_value(self, key: str) -> str | None: ...
    async def set_value(self, key: str, value: str) -> None: ...
    async def setdefault_value(self, key: str, value: str) -> str:
        """Store ``value`` unless a value exists; return the stored one (race-free)."""
        ...


class Maintenance(Protocol):
    """What the command line reads and cleans up."""

    async def user_exists(self, user_key: str) -> bool: ...
    async def user_sessions(self, user_key: str,
                            flow_id: str | None = None) -> Sequence[SessionRecord]: ...
    async def kb_gaps(self, limit: int = 50) -> list[GapCount]: ...
    async def purge(self, days: int) -> PurgeCounts: ...
    async def erase_idle_addresses(self) -> int:
        """Erase the chat addresses of people with nothing pending; how many were erased."""
        ...


class Storage(ConversationStore, Outbox, KeyValueStore, Maintenance, Protocol):
    async def close(self) -> None: ...
