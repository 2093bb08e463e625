"""The storage interface the assistant uses: one unit of work per message.

``Storage.conversation(user_key)`` opens a transaction, locks the person's row
(``SELECT … FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite), and commits
when the block ends, before the reply leaves: a process killed at any moment loses
no acknowledged answer, and two workers never interleave one person's messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from flows.engine import FlowState
from storage.db import create_engine, migrate, session_factory
from storage.models import (
    Answer,
    FlowSession,
    KbGap,
    KeyValue,
    ProcessedEvent,
    Summary,
    User,
    utcnow,
)


class DuplicateEvent(Exception):
    """The platform delivered this event before; it was handled then."""


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    step: str
    value: Any
    comment: str | None
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: int
    flow: str
    flow_version: str
    status: str
    started_at: datetime
    updated_at: datetime
    answers: tuple[AnswerRecord, ...]
    summary: dict[str, Any] | None
    workshop_id: int | None


def as_utc(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


class Conversation:
    """One person's state during the handling of one message."""

    def __init__(self, session: AsyncSession, user: User) -> None:
        self.db = session
        self.user = user

    @property
    def state(self) -> dict[str, Any]:
        return dict(self.user.state or {})

    def set_state(self, **changes: Any) -> None:
        state = dict(self.user.state or {})
        for key, value in changes.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        self.user.state = state

    async def claim_event(self, channel: str, event_id: str) -> None:
        """Record the event as handled; raise ``DuplicateEvent`` if it already was."""
        stmt = (
            _insert(self.db, ProcessedEvent)
            .values(channel=channel, event_id=event_id, processed_at=utcnow())
            .on_conflict_do_nothing()
        )
        result = await self.db.execute(stmt)
        if result.rowcount == 0:
            raise DuplicateEvent(event_id)

    async def session(self, session_id: int) -> FlowSession | None:
        row = await self.db.get(FlowSession, session_id)
        return row if row is not None and row.user_id == self.user.id else None

    async def active_session(self) -> FlowSession | None:
        session_id = self.state.get("session_id")
        if session_id is None:
            return None
        row = await self.session(int(session_id))
        return row if row is not None and row.status == "in_progress" else None

    async def open_session_for(self, flow_id: str, workshop_id: int | None = None) -> (
        FlowSession | None
    ):
        """The newest unfinished session of this flow (and workshop), to resume it."""
        stmt = (
            select(FlowSession)
            .where(
                FlowSession.user_id == self.user.id,
                FlowSession.flow_id == flow_id,
                FlowSession.status == "in_progress",
                FlowSession.workshop_id.is_(None)
                if workshop_id is None
                else FlowSession.workshop_id == workshop_id,
            )
            .order_by(FlowSession.id.desc())
            .limit(1)
        )
        return (await self.db.execute(stmt)).scalar_one_or_none()

    async def load(self, row: FlowSession) -> FlowState:
        answers = (
            await self.db.execute(select(Answer).where(Answer.session_id == row.id))
        ).scalars()
        values: dict[str, Any] = {}
        comments: dict[str, str] = {}
        for answer in answers:
            values[answer.step_id] = answer.value
            if answer.comment:
                comments[answer.step_id] = answer.comment
        return FlowState(
            flow_id=row.flow_id,
            version=row.flow_version,
            history=tuple(row.history or ()),
            answers=values,
            comments=comments,
            status=row.status,  # type: ignore[arg-type]
            selection=tuple(row.selection or ()),
        )

    async def create_session(
        self, state: FlowState, workshop_id: int | None = None
    ) -> FlowSession:
        row = FlowSession(
            user_id=self.user.id,
            flow_id=state.flow_id,
            flow_version=state.version,
            status=state.status,
            history=list(state.history),
            selection=list(state.selection),
            workshop_id=workshop_id,
        )
        self.db.add(row)
        await self.db.flush()
        await self._write_answers(row, FlowState(state.flow_id, state.version), state)
        return row

    async def save(self, row: FlowSession, before: FlowState, after: FlowState) -> None:
        await self._write_answers(row, before, after)
        row.history = list(after.history)
        row.selection = list(after.selection)
        row.status = after.status
        row.flow_version = after.version
        row.updated_at = utcnow()

    async def _write_answers(self, row: FlowSession, before: FlowState, after: FlowState) -> None:
        removed = [k for k in before.answers if k not in after.answers]
        if removed:
            await self.db.execute(
                delete(Answer).where(Answer.session_id == row.id, Answer.step_id.in_(removed))
            )
        for step_id, value in after.answers.items():
            comment = after.comments.get(step_id)
            if step_id in before.answers and before.answers[step_id] == value and (
                before.comments.get(step_id) == comment
            ):
                continue
            stmt = _insert(self.db, Answer).values(
                session_id=row.id,
                step_id=step_id,
                value=value,
                comment=comment,
                answered_at=utcnow(),
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["session_id", "step_id"],
                set_={"value": stmt.excluded.value, "comment": stmt.excluded.comment,
                      "answered_at": stmt.excluded.answered_at},
            )
            await self.db.execute(stmt)

    async def save_summary(self, row: FlowSession, data: dict[str, Any]) -> None:
        stmt = _insert(self.db, Summary).values(
            session_id=row.id, data=data, created_at=utcnow()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["session_id"], set_={"data": stmt.excluded.data}
        )
        await self.db.execute(stmt)

    async def user_sessions(self, flow_id: str | None = None) -> list[SessionRecord]:
        return await _sessions_of(self.db, self.user.key, flow_id)

    async def record_kb_gap(self, question: str, kind: str, entry_id: str | None = None) -> None:
        """In this transaction: a second connection would wait for our SQLite lock."""
        self.db.add(KbGap(question=question[:500], kind=kind, entry_id=entry_id))

    async def summary_of(self, row: FlowSession) -> dict[str, Any] | None:
        found = await self.db.execute(select(Summary.data).where(Summary.session_id == row.id))
        return found.scalar_one_or_none()


class Storage:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def conversation(self, user_key: str) -> AsyncIterator[Conversation]:
        """A transaction holding the person's lock; committed when the block ends.

        ``DuplicateEvent`` raised inside rolls everything back and propagates.
        """
        async with self.sessions() as db, db.begin():
            await db.execute(
                _insert(db, User)
                .values(key=user_key, created_at=utcnow(), last_seen_at=utcnow(), state={})
                .on_conflict_do_nothing(index_elements=["key"])
            )
            user = (
                await db.execute(select(User).where(User.key == user_key).with_for_update())
            ).scalar_one()
            user.last_seen_at = utcnow()
            yield Conversation(db, user)

    async def get_value(self, key: str) -> str | None:
        async with self.sessions() as db:
            row = await db.get(KeyValue, key)
            return row.value if row else None

    async def set_value(self, key: str, value: str) -> None:
        async with self.sessions() as db, db.begin():
            stmt = _insert(db, KeyValue).values(key=key, value=value, updated_at=utcnow())
            stmt = stmt.on_conflict_do_update(
                index_elements=["key"],
                set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
            )
            await db.execute(stmt)

    async def setdefault_value(self, key: str, value: str) -> str:
        """Store ``value`` unless a value exists; return the stored one (race-free)."""
        async with self.sessions() as db, db.begin():
            await db.execute(
                _insert(db, KeyValue)
                .values(key=key, value=value, updated_at=utcnow())
                .on_conflict_do_nothing(index_elements=["key"])
            )
            found = await db.execute(select(KeyValue.value).where(KeyValue.key == key))
            return found.scalar_one()

    async def user_sessions(
        self, user_key: str, flow_id: str | None = None
    ) -> list[SessionRecord]:
        async with self.sessions() as db:
            return await _sessions_of(db, user_key, flow_id)

    async def user_exists(self, user_key: str) -> bool:
        async with self.sessions() as db:
            found = await db.execute(select(User.id).where(User.key == user_key))
            return found.scalar_one_or_none() is not None

    async def record_kb_gap(self, question: str, kind: str, entry_id: str | None = None) -> None:
        async with self.sessions() as db, db.begin():
            db.add(KbGap(question=question[:500], kind=kind, entry_id=entry_id))

    async def list_kb_gaps(self, limit: int = 50) -> list[tuple[str, str, int]]:
        """(question, kind, count), most frequent first."""
        async with self.sessions() as db:
            count = func.count(KbGap.id)
            stmt = (
                select(func.lower(KbGap.question), KbGap.kind, count)
                .group_by(func.lower(KbGap.question), KbGap.kind)
                .order_by(count.desc(), func.lower(KbGap.question))
                .limit(limit)
            )
            return [(q, k, int(n)) for q, k, n in (await db.execute(stmt)).all()]

    async def purge_events(self, older_than: timedelta) -> int:
        async with self.sessions() as db, db.begin():
            result = await db.execute(
                delete(ProcessedEvent).where(ProcessedEvent.processed_at < utcnow() - older_than)
            )
            return int(result.rowcount or 0)


async def _sessions_of(
    db: AsyncSession, user_key: str, flow_id: str | None
) -> list[SessionRecord]:
    stmt = (
        select(FlowSession)
        .join(User, FlowSession.user_id == User.id)
        .where(User.key == user_key)
        .options(selectinload(FlowSession.answers), selectinload(FlowSession.summary))
        .order_by(FlowSession.id)
    )
    if flow_id:
        stmt = stmt.where(FlowSession.flow_id == flow_id)
    rows = (await db.execute(stmt)).scalars().all()
    return [_record(row) for row in rows]


def _record(row: FlowSession) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        flow=row.flow_id,
        flow_version=row.flow_version,
        status=row.status,
        started_at=as_utc(row.started_at),
        updated_at=as_utc(row.updated_at),
        answers=tuple(
            AnswerRecord(a.step_id, a.value, a.comment, as_utc(a.answered_at))
            for a in row.answers
        ),
        summary=row.summary.data if row.summary else None,
        workshop_id=row.workshop_id,
    )


async def open_storage(url: str) -> Storage:
    """Connect and migrate. Raises ``storage.db.DatabaseUrlError`` on a bad URL."""
    engine = create_engine(url)
    await migrate(engine)
    return Storage(engine)


__all__ = [
    "AnswerRecord",
    "Conversation",
    "DuplicateEvent",
    "SessionRecord",
    "Storage",
    "open_storage",
]
