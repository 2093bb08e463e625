"""What storage hands out: frozen, typed values, one shape per thing.

A session is read as one :class:`SessionRecord` everywhere — by the message path,
exports, the privacy report and workshop syntheses — and turned into the engine's
:class:`~flows.engine.FlowState` and back without going through dictionaries.
"""

from __future__ import annotations

from collections.abc import Mapping
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


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: int
    user_id: int
    flow_id: str
    flow_version: str
    status: Status
    history: tuple[str, ...]
    selection: tuple[str, ...]
    answers: Mapping[str, Answer]
    workshop_id: int | None
    started_at: datetime
    updated_at: datetime
    summary: Mapping[str, Any] | None = None

    @property
    def flow_state(self) -> FlowState:
        return FlowState(
            flow_id=self.flow_id,
            version=self.flow_version,
            history=self.history,
            answers={step: a.value for step, a in self.answers.items()},
            comments={step: a.comment for step, a in self.answers.items() if a.comment},
            status=self.status,
            selection=self.selection,
        )

    def with_state(self, state: FlowState, now: datetime) -> SessionRecord:
        """This session after ``state``: an answer keeps its moment while unchanged."""
        answers: dict[str, Answer] = {}
        moment = now.isoformat()
        known_answers, comments = self.answers, state.comments
        for step, value in state.answers.items():
            comment = comments.get(step) or None
            known = known_answers.get(step)
            if known is not None and known.value == value and known.comment == comment:
                answers[step] = known
            else:
                answers[step] = Answer(value, moment, comment)
        return SessionRecord(
            id=self.id, user_id=self.user_id, flow_id=self.flow_id,
            flow_version=state.version, status=state.status, history=tuple(state.history),
            selection=tuple(state.selection), answers=answers, workshop_id=self.workshop_id,
            started_at=self.started_at, updated_at=now, summary=self.summary)


def answers_document(answers: Mapping[str, Answer]) -> dict[str, Any]:
    """The ``flow_sessions.answers`` JSON of a session."""
    document: dict[str, Any] = {}
    for step, answer in answers.items():
        item: dict[str, Any] = {"value": answer.value, "at": answer.at}
        if answer.comment:
            item["comment"] = answer.comment
        document[step] = item
    return document


def answers_from_document(document: Mapping[str, Any] | None) -> dict[str, Answer]:
    return {
        step: Answer(item.get("value"), item["at"], item.get("comment"))
        for step, item in (document or {}).items()
    }


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
