"""What storage hands out: frozen, typed values, one shape per thing.

A session is read as one :class:`SessionRecord` everywhere — by the message path,
exports, the privacy report and workshop syntheses — and turned into the engine's
:class:`~flows.engine.FlowState` and back without going through dictionaries.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.engine import FlowState, Status


@dataclass(frozen=True, slots=True)
class Answer:
    value: Any
    at: str
    """When it was given, ISO 8601 in UTC (kept while later messages leave it unchanged).
    Kept as the stored text: a session is read and written at every message, and its
    moments are only read as dates by exports."""
    comment: str | None = None

    @property
    def answered_at(self) -> datetime:
        return datetime.fromisoformat(self.at)


class Answers(Mapping[str, Answer]):
    """A session's answers over the JSON document they are stored as.

    A message reads and writes a whole session, and usually changes one answer: the
    document's items are kept as they are, and an :class:`Answer` is only made for an
    item somebody looks at (an export, the privacy report). Read-only.
    """

    __slots__ = ("_document",)

    def __init__(self, document: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._document: Mapping[str, Mapping[str, Any]] = document or {}

    def __getitem__(self, step: str) -> Answer:
        item = self._document[step]
        return Answer(item.get("value"), item["at"], item.get("comment"))

    def __iter__(self) -> Iterator[str]:
        return iter(self._document)

    def __len__(self) -> int:
        return len(self._document)

    @property
    def document(self) -> Mapping[str, Mapping[str, Any]]:
        """The ``flow_sessions.answers`` JSON, as stored."""
        return self._document

    def values_and_comments(self) -> tuple[dict[str, Any], dict[str, str]]:
        values = {step: item.get("value") for step, item in self._document.items()}
        comments = {step: c for step, item in self._document.items()
                    if (c := item.get("comment"))}
        return values, comments

    def after(self, values: Mapping[str, Any], comments: Mapping[str, str],
              moment: str) -> Answers:
        """The answers once ``values`` and ``comments`` are given: an unchanged answer
        keeps its moment, a new or changed one gets ``moment``."""
        known = self._document
        document: dict[str, Mapping[str, Any]] = {}
        for step, value in values.items():
            comment = comments.get(step) or None
            item = known.get(step)
            if item is not None and item.get("value") == value and (
                    item.get("comment") or None) == comment:
                document[step] = item
            else:
                fresh: dict[str, Any] = {"value": value, "at": moment}
                if comment:
                    fresh["comment"] = comment
                document[step] = fresh
        return Answers(document)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: int
    user_id: int
    flow_id: str
    flow_version: str
    status: Status
    history: tuple[str, ...]
    selection: tuple[str, ...]
    answers: Answers
    workshop_id: int | None
    started_at: datetime
    updated_at: datetime
    summary: Mapping[str, Any] | None = None

    @property
    def flow_state(self) -> FlowState:
        values, comments = self.answers.values_and_comments()
        return FlowState(flow_id=self.flow_id, version=self.flow_version,
                         history=self.history, answers=values, comments=comments,
                         status=self.status, selection=self.selection)

    def with_state(self, state: FlowState, now: datetime) -> SessionRecord:
        """This session after ``state``: an answer keeps its moment while unchanged."""
        answers = self.answers.after(state.answers, state.comments, now.isoformat())
        return SessionRecord(
            id=self.id, user_id=self.user_id, flow_id=self.flow_id,
            flow_version=state.version, status=state.status, history=tuple(state.history),
            selection=tuple(state.selection), answers=answers, workshop_id=self.workshop_id,
            started_at=self.started_at, updated_at=now, summary=self.summary)


@dataclass(frozen=True, slots=True)
class WorkshopRecord:
    id: int
    code: str
    """Normalised, without dashes (see :func:`storage.workshop_codes.display_code`)."""
    title: str
    flow_id: str
    facilitator_key: str
    status: str
    closes_at: datetime | None
    created_at: datetime

    def is_open(self, now: datetime) -> bool:
        if self.status != "open":
            return False
        return self.closes_at is None or self.closes_at > now


@dataclass(frozen=True, slots=True)
class Participation:
    """One participant's answers to a workshop, without who they are."""

    status: str
    answers: Mapping[str, Any]
    comments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GapCount:
    """A question Coopbot could not answer (or an answer found unhelpful), with its count."""

    question: str
    kind: str
    count: int


@dataclass(frozen=True, slots=True)
class PurgeCounts:
    users: int = 0
    workshops: int = 0
    wrong_code_attempts: int = 0
    kb_gaps: int = 0
    processed_events: int = 0
    invitations: int = 0


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """A message Coopbot sends first: decided in a transaction, sent by ``coopbot run``.

    ``message`` is the stored form of the bubbles (:func:`bot.messages.stored_form`);
    ``render`` names a picture drawn just before sending (``{"chart": …}``), if any.
    """

    idempotency_key: str
    user_key: str
    channel: str
    due_at: datetime
    message: list[dict[str, Any]]
    kind: str
    """``reminder``, ``closing``, ``chart``… (free text)."""
    workshop_id: int | None = None
    render: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A due message claimed by this worker, with the person's chat address decrypted."""

    id: int
    user_key: str
    channel: str
    chat_id: str
    message: list[dict[str, Any]]
    kind: str
    attempts: int
    workshop_id: int | None = None
    render: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """What the outbox did for one workshop: counts only (``/etat``)."""

    reminders_sent: int = 0
    reminders_pending: int = 0
    unreachable: int = 0
    """Participants who blocked the bot, or whose reminder could not be delivered."""


@dataclass(frozen=True, slots=True)
class Participant:
    """A participant of a workshop as the outbox needs them: their key and progress."""

    user_key: str
    status: str
    reminders_off: bool = False
    started_at: datetime | None = None
    """When they started the workshop's questionnaire (who was there at a given time)."""
