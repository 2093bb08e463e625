"""The storage interface the assistant uses: one unit of work per message.

``Storage.conversation(user_key)`` opens a transaction, locks the person's row
(``SELECT … FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite), and commits
when the block ends, before the reply leaves: a process killed at any moment loses
no acknowledged answer, and two workers never interleave one person's messages.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import func, null, select, update
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)
from sqlalchemy.orm import selectinload

from flows.engine import FlowState
from storage.db import (
    Checkpointer,
    InlineSqliteConnection,
    borrowing_engine,
    create_engine,
    inline_target,
    migrate,
    session_factory,
)
from storage.liveness import (
    AdvisoryLiveness,
    FileLiveness,
    Liveness,
    SingleProcess,
    new_worker_id,
)
from storage.models import (
    FlowSession,
    KbGap,
    KeyValue,
    ProcessedEvent,
    User,
    utcnow,
)
from storage.session_cache import SessionCache


class DuplicateEvent(Exception):
    """The platform delivered this event before; it was handled then.

    ``unsent``: the replies of that handling if the channel never confirmed their
    delivery (the process stopped in between), to be sent now; else None.
    """

    def __init__(self, event_id: str, unsent: list[Any] | None = None,
                 handler: int | None = None) -> None:
        super().__init__(event_id)
        self.unsent = unsent
        self.handler = handler
        """The worker that was to send ``unsent`` (see :mod:`storage.liveness`)."""


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
    """``INSERT … ON CONFLICT`` of the session's dialect (imported on use: importing
    the PostgreSQL dialect costs a tenth of a second of start-up on SQLite)."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


_PARAM = re.compile(r"\$(\d+)")


class _Sql:
    """Hand-written statements on the transaction's own driver connection.

    The per-message path is a handful of fixed statements; running them through
    the ORM (identity map, unit of work, statement compilation) cost more than
    the database itself. They are written once with PostgreSQL's ``$n``
    placeholders (SQLite reads them as ``?n``) and run on the driver connection
    that already holds the transaction, so they commit or roll back with it and
    with anything other code did through ``Conversation.db``.
    """

    def __init__(self, driver: Any, dialect: str) -> None:
        self.driver = driver
        self.pg = dialect == "postgresql"

    def sql(self, text: str) -> str:
        return text if self.pg else _sqlite_sql(text)

    def ts(self, moment: datetime) -> Any:
        return moment if self.pg else _sqlite_ts(moment)

    def read_ts(self, value: Any) -> datetime:
        return as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(value))

    @staticmethod
    def dump(value: Any) -> str:
        """orjson: several times faster than :mod:`json`, and JSON is encoded or decoded
        five or six times per message (answer, history, the person's state)."""
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()

    def load(self, value: Any) -> Any:
        """JSON columns: asyncpg decodes them already (SQLAlchemy's codec); SQLite gives
        text, or a number (a column typed JSON has numeric affinity: '1' is stored as 1)."""
        return orjson.loads(value) if not self.pg and isinstance(value, str) else value

    async def fetch(self, text: str, *args: Any) -> list[Sequence[Any]]:
        if self.pg:
            return list(await self.driver.fetch(text, *args))
        cursor = await self.driver.execute(_sqlite_sql(text), args)
        try:
            return list(await cursor.fetchall())
        finally:
            await cursor.close()

    async def execute(self, text: str, *args: Any) -> int:
        """Run a statement; the number of rows it touched."""
        if self.pg:
            status = await self.driver.execute(text, *args)
            tail = status.rsplit(" ", 1)[-1]
            return int(tail) if tail.isdigit() else 0
        cursor = await self.driver.execute(_sqlite_sql(text), args)
        try:
            return int(cursor.rowcount)
        finally:
            await cursor.close()


def _sqlite_ts(moment: datetime) -> str:
    """A UTC timestamp as SQLAlchemy stores it in SQLite: ``2026-01-31 09:05:00.000000``."""
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


@lru_cache(maxsize=256)
def _sqlite_sql(text: str) -> str:
    return _PARAM.sub(r"?\1", text)


@dataclass(slots=True)
class UserRow:
    id: int
    key: str
    state: dict[str, Any]


_SESSION_COLUMNS = (
    "id, user_id, flow_id, flow_version, status, history, selection, workshop_id, "
    "started_at, updated_at"
)
_SESSION_COLUMNS_S = ", ".join(f"s.{c.strip()}" for c in _SESSION_COLUMNS.split(","))


@dataclass(slots=True, eq=False)
class SessionRow:
    """A ``flow_sessions`` row as the per-message path reads and writes it.

    Plain attributes with the ORM model's names; a change made by assignment
    (``row.status = "cancelled"``) is written when the conversation ends.
    """

    id: int
    user_id: int
    flow_id: str
    flow_version: str
    status: str
    history: list[Any]
    selection: list[Any]
    workshop_id: int | None
    started_at: datetime
    updated_at: datetime
    stored: tuple[Any, ...] = ()
    """What the database holds, to write only what changed."""

    def snapshot(self) -> tuple[Any, ...]:
        return (self.flow_version, self.status, tuple(self.history), tuple(self.selection))


class Conversation:
    """One person's state during the handling of one message."""

    def __init__(self, bind: AsyncConnection | Callable[[], AsyncEngine], user: UserRow,
                 sql: _Sql, cache: SessionCache, now: datetime, worker: int) -> None:
        self._bind = bind
        self._worker = worker
        self.now = now
        """The moment of this message: every row it writes carries it."""
        self._stamp = sql.ts(now)
        self._session: AsyncSession | None = None
        self.user = user
        self._sql = sql
        self._cache = cache
        self._state_stored = dict(user.state)
        self._rows: dict[int, SessionRow] = {}
        self._loaded: dict[int, tuple[dict[str, Any], dict[str, str]]] = {}
        """Answers and comments of a session as the database holds them in this transaction."""
        self.forgotten = False

    @property
    def db(self) -> AsyncSession:
        """An ORM session inside this message's transaction (created on first use).

        For code that works with the models (workshops, privacy); it flushes
        before the transaction commits. The per-message path does not need it.
        """
        if self._session is None:
            bind = self._bind if isinstance(self._bind, AsyncConnection) else self._bind()
            self._session = AsyncSession(bind=bind, expire_on_commit=False)
        return self._session

    @property
    def state(self) -> dict[str, Any]:
        return dict(self.user.state)

    def set_state(self, **changes: Any) -> None:
        state = dict(self.user.state)
        for key, value in changes.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        self.user.state = state

    async def claim_event(self, channel: str, event_id: str) -> None:
        """Record the event as handled; raise ``DuplicateEvent`` if it already was."""
        inserted = await self._sql.execute(
            "INSERT INTO processed_events (channel, event_id, processed_at) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING",
            channel, event_id, self._stamp,
        )
        if inserted == 0:
            found = await self._sql.fetch(
                "SELECT replies, handler FROM processed_events "
                "WHERE channel = $1 AND event_id = $2",
                channel, event_id,
            )
            unsent = self._sql.load(found[0][0]) if found else None
            raise DuplicateEvent(event_id, unsent or None, found[0][1] if found else None)

    async def keep_replies(self, channel: str, event_id: str, replies: list[Any]) -> None:
        """Keep the replies with the event until the channel confirms their delivery."""
        await self._sql.execute(
            "UPDATE processed_events SET replies = $3, owner = $4, handler = $5 "
            "WHERE channel = $1 AND event_id = $2",
            channel, event_id, self._sql.dump(replies),
            None if self.forgotten else self.user.key,  # nothing left to name them by
            self._worker,
        )

    def _row(self, found: Sequence[Any]) -> SessionRow:
        known = self._rows.get(found[0])
        if known is not None:  # one object per row within a message, like the ORM's
            return known
        sql = self._sql
        row = SessionRow(
            id=found[0], user_id=found[1], flow_id=found[2], flow_version=found[3],
            status=found[4], history=list(sql.load(found[5]) or ()),
            selection=list(sql.load(found[6]) or ()), workshop_id=found[7],
            started_at=sql.read_ts(found[8]), updated_at=sql.read_ts(found[9]),
        )
        row.stored = row.snapshot()
        self._rows[row.id] = row
        return row

    async def session(self, session_id: int) -> SessionRow | None:
        """The session with its answers, in one query (``load`` then reads no more).

        When this process still holds the answers its last commit wrote for this
        session, only the session row is read, to check that nobody wrote since.
        """
        if session_id in self._rows:
            return self._rows[session_id]
        if session_id in self._cache:
            found = await self._sql.fetch(
                f"SELECT {_SESSION_COLUMNS} FROM flow_sessions WHERE id = $1 AND user_id = $2",
                session_id, self.user.id,
            )
            if not found:
                return None
            row = self._row(found[0])
            cached = self._cache.get(row.id, row.user_id, row.started_at, row.updated_at)
            if cached is not None:
                self._loaded[row.id] = (dict(cached.values), dict(cached.comments))
            return row  # on a stale entry ``load`` reads the answers
        found = await self._sql.fetch(
            f"SELECT {_SESSION_COLUMNS_S}, a.step_id, a.value, a.comment FROM flow_sessions s "
            "LEFT JOIN answers a ON a.session_id = s.id WHERE s.id = $1 AND s.user_id = $2 "
            "ORDER BY a.id",
            session_id, self.user.id,
        )
        if not found:
            return None
        row = self._row(found[0])
        width = len(found[0]) - 3
        self._loaded[row.id] = self._decode([r[width:] for r in found if r[width] is not None])
        return row

    async def active_session(self) -> SessionRow | None:
        session_id = self.state.get("session_id")
        if session_id is None:
            return None
        row = await self.session(int(session_id))
        return row if row is not None and row.status == "in_progress" else None

    async def open_session_for(self, flow_id: str, workshop_id: int | None = None) -> (
        SessionRow | None
    ):
        """The newest unfinished session of this flow (and workshop), to resume it."""
        where = "workshop_id IS NULL" if workshop_id is None else "workshop_id = $3"
        args: tuple[Any, ...] = (self.user.id, flow_id)
        if workshop_id is not None:
            args += (workshop_id,)
        found = await self._sql.fetch(
            f"SELECT {_SESSION_COLUMNS} FROM flow_sessions WHERE user_id = $1 AND flow_id = $2 "
            f"AND status = 'in_progress' AND {where} ORDER BY id DESC LIMIT 1",
            *args,
        )
        return self._row(found[0]) if found else None

    def _decode(self, answers: Sequence[Sequence[Any]]) -> tuple[dict[str, Any], dict[str, str]]:
        values: dict[str, Any] = {}
        comments: dict[str, str] = {}
        for step_id, value, comment in answers:
            values[step_id] = self._sql.load(value)
            if comment:
                comments[step_id] = comment
        return values, comments

    async def load(self, row: SessionRow) -> FlowState:
        loaded = self._loaded.get(row.id)
        if loaded is None:
            found = await self._sql.fetch(
                "SELECT step_id, value, comment FROM answers WHERE session_id = $1 ORDER BY id",
                row.id,
            )
            loaded = self._loaded[row.id] = self._decode(found)
        values, comments = loaded
        return FlowState(
            flow_id=row.flow_id,
            version=row.flow_version,
            history=tuple(row.history or ()),
            answers=dict(values),
            comments=dict(comments),
            status=row.status,  # type: ignore[arg-type]
            selection=tuple(row.selection or ()),
        )

    async def create_session(
        self, state: FlowState, workshop_id: int | None = None
    ) -> SessionRow:
        sql = self._sql
        found = await sql.fetch(
            "INSERT INTO flow_sessions (user_id, flow_id, flow_version, status, history, "
            "selection, workshop_id, started_at, updated_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) "
            f"RETURNING {_SESSION_COLUMNS}",
            self.user.id, state.flow_id, state.version, state.status,
            sql.dump(list(state.history)), sql.dump(list(state.selection)), workshop_id,
            self._stamp,
        )
        row = self._row(found[0])
        self._loaded[row.id] = ({}, {})
        await self._write_answers(row, FlowState(state.flow_id, state.version), state)
        return row

    async def save(self, row: SessionRow, before: FlowState, after: FlowState) -> None:
        await self._write_answers(row, before, after)
        row.history = list(after.history)
        row.selection = list(after.selection)
        row.status = after.status
        row.flow_version = after.version
        row.updated_at = self.now
        await self._write_row(row)

    async def _write_row(self, row: SessionRow) -> None:
        sql = self._sql
        await sql.execute(
            "UPDATE flow_sessions SET history = $2, selection = $3, status = $4, "
            "flow_version = $5, updated_at = $6 WHERE id = $1",
            row.id, sql.dump(list(row.history)), sql.dump(list(row.selection)), row.status,
            row.flow_version,
            self._stamp if row.updated_at is self.now else sql.ts(row.updated_at),
        )
        row.stored = row.snapshot()

    async def _write_answers(self, row: SessionRow, before: FlowState, after: FlowState) -> None:
        sql = self._sql
        for step_id in before.answers:
            if step_id not in after.answers:
                await sql.execute(
                    "DELETE FROM answers WHERE session_id = $1 AND step_id = $2", row.id, step_id
                )
        now = self._stamp
        for step_id, value in after.answers.items():
            comment = after.comments.get(step_id)
            if step_id in before.answers and before.answers[step_id] == value and (
                before.comments.get(step_id) == comment
            ):
                continue
            await sql.execute(
                "INSERT INTO answers (session_id, step_id, value, comment, answered_at) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id, step_id) DO UPDATE SET "
                "value = excluded.value, comment = excluded.comment, "
                "answered_at = excluded.answered_at",
                row.id, step_id, sql.dump(value), comment, now,
            )
        self._loaded[row.id] = (dict(after.answers), dict(after.comments))

    async def save_summary(self, row: SessionRow, data: dict[str, Any]) -> None:
        sql = self._sql
        await sql.execute(
            "INSERT INTO summaries (session_id, data, created_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (session_id) DO UPDATE SET data = excluded.data",
            row.id, sql.dump(data), self._stamp,
        )

    async def user_sessions(self, flow_id: str | None = None) -> list[SessionRecord]:
        await self._flush()  # the ORM query below must see this message's changes
        return await _sessions_of(self.db, self.user.key, flow_id)

    async def record_kb_gap(self, question: str, kind: str, entry_id: str | None = None) -> None:
        """In this transaction: a second connection would wait for our SQLite lock."""
        await self._sql.execute(
            "INSERT INTO kb_gaps (question, kind, entry_id, created_at) VALUES ($1, $2, $3, $4)",
            question[:500], kind, entry_id, self._stamp,
        )

    async def forget(self) -> None:
        """Delete every trace of this person, in this transaction and in memory."""
        from storage.privacy import forget_user

        await forget_user(self.db, self.user.key)
        self._rows.clear()
        self._loaded.clear()
        self.forgotten = True

    def _remember(self) -> None:
        """After the commit: keep what the sessions now hold for the next message."""
        if self.forgotten:
            self._cache.drop_user(self.user.id)
            return
        for row in self._rows.values():
            loaded = self._loaded.get(row.id)
            if loaded is not None:
                self._cache.put(row.id, row.user_id, row.started_at, row.updated_at, *loaded)

    async def summary_of(self, row: SessionRow) -> dict[str, Any] | None:
        found = await self._sql.fetch("SELECT data FROM summaries WHERE session_id = $1", row.id)
        return self._sql.load(found[0][0]) if found else None

    async def _flush(self) -> None:
        """Write what changed by assignment: the person's state, a session's status."""
        for row in self._rows.values():
            if row.snapshot() != row.stored:
                row.updated_at = self.now
                await self._write_row(row)
        if self.user.state != self._state_stored:
            await self._sql.execute(
                "UPDATE users SET state = $2 WHERE id = $1",
                self.user.id, self._sql.dump(self.user.state),
            )
            self._state_stored = dict(self.user.state)


_UPSERT_USER = (
    "INSERT INTO users (key, created_at, last_seen_at, state) VALUES ($1, $2, $2, $3) "
    "ON CONFLICT (key) DO UPDATE SET last_seen_at = excluded.last_seen_at "
    "RETURNING id, state"
)
LAST_SEEN_STEP = timedelta(minutes=1)
"""On SQLite ``last_seen_at`` (read by the retention purge, counted in days) moves
by steps of a minute. PostgreSQL writes it every time: that write is the row lock."""
_PG_CONVERSATIONS = 10
"""Conversations holding a PostgreSQL connection at once (the pool's size). Others
wait in a first-come-first-served queue, not in the pool's, where a task that just
finished can overtake one that has waited for seconds."""


class Storage:
    def __init__(self, engine: AsyncEngine, liveness: Liveness | None = None) -> None:
        self.engine = engine
        self.liveness: Liveness = liveness or SingleProcess(new_worker_id())
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self._inline = inline_target(engine)
        self._direct: InlineSqliteConnection | None = None
        self._borrowing: AsyncEngine | None = None
        self._checkpointer = Checkpointer(self._inline.path) if self._inline else None
        self._pg_turns: asyncio.Semaphore | None = None
        self.session_cache = SessionCache()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def handler_alive(self, worker: int | None) -> bool:
        """Whether the worker that was to send some replies still runs (and sends them)."""
        return worker is not None and await self.liveness.alive(worker)

    async def close(self) -> None:
        await self.liveness.stop()
        if self._checkpointer is not None:
            await self._checkpointer.stop()
        if self._borrowing is not None:
            await self._borrowing.dispose()
            self._borrowing = None
        if self._direct is not None:
            await self._direct.close()
            self._direct = None
        await self.engine.dispose()

    def _borrowing_engine(self) -> AsyncEngine:
        assert self._direct is not None
        if self._borrowing is None:
            self._borrowing = borrowing_engine(self._direct)
        return self._borrowing

    @asynccontextmanager
    async def _sqlite_conversation(self, user_key: str) -> AsyncIterator[Conversation]:
        """SQLite, one file: the per-message transaction on a connection of its own.

        No pool and no SQLAlchemy on this path: the process's write lock (first come,
        first served) is taken, then ``BEGIN IMMEDIATE`` on a connection kept for
        conversations, which only the lock holder uses. An ORM session, if some
        code asks for one, borrows that connection (``storage.db.BorrowedConnection``).
        """
        assert self._inline is not None
        writer = self._inline.writer
        await writer.acquire()  # not ``async with``: one context manager less per message
        try:
            if self._direct is None:
                self._direct = self._inline.connect()
                assert self._checkpointer is not None
                self._checkpointer.start()
            direct = self._direct
            await direct.execute("BEGIN IMMEDIATE")
            conv: Conversation | None = None
            try:
                sql = _Sql(direct, "sqlite")
                now = utcnow()
                # BEGIN IMMEDIATE already serialises: read the person, and write
                # last_seen_at only when it is a minute old (one page less per commit).
                found = await sql.fetch(
                    "SELECT id, state, last_seen_at FROM users WHERE key = $1", user_key)
                if not found:
                    found = await sql.fetch(_UPSERT_USER, user_key, _sqlite_ts(now), "{}")
                elif sql.read_ts(found[0][2]) < now - LAST_SEEN_STEP:
                    await sql.execute("UPDATE users SET last_seen_at = $2 WHERE id = $1",
                                      found[0][0], _sqlite_ts(now))
                user = UserRow(id=found[0][0], key=user_key,
                               state=dict(sql.load(found[0][1]) or {}))
                conv = Conversation(self._borrowing_engine, user, sql, self.session_cache, now,
                                    self.liveness.worker)
                yield conv
                await conv._flush()
                if conv._session is not None:
                    await conv._session.flush()
                await direct.commit()
                conv._remember()
            except BaseException:
                await direct.rollback()
                raise
            finally:
                if conv is not None and conv._session is not None:
                    await conv._session.close()
        finally:
            writer.release()

    def conversation(self, user_key: str) -> AbstractAsyncContextManager[Conversation]:
        """A transaction holding the person's lock; committed when the block ends.

        The first statement creates the person or touches ``last_seen_at``; on
        PostgreSQL ``INSERT … ON CONFLICT DO UPDATE`` locks the row until commit,
        so a second worker's message for the same person waits here (the job
        ``SELECT … FOR UPDATE`` did, in one round trip instead of three). On
        SQLite ``BEGIN IMMEDIATE`` already gave this connection the write lock.
        The transaction lives on a plain connection; an ORM session joins it only
        when some code asks for ``Conversation.db``. ``DuplicateEvent`` raised
        inside rolls everything back and propagates.
        """
        if self._inline is not None:
            return self._sqlite_conversation(user_key)
        return self._server_conversation(user_key)

    @asynccontextmanager
    async def _server_conversation(self, user_key: str) -> AsyncIterator[Conversation]:
        """PostgreSQL (or SQLite in memory): a pooled connection, the row lock."""
        if self._pg_turns is None:
            self._pg_turns = asyncio.Semaphore(_PG_CONVERSATIONS)
        async with self._pg_turns, self.engine.connect() as conn:
            await conn.begin()
            pg = self.dialect == "postgresql"
            now = utcnow()
            # Through SQLAlchemy, so that its driver adapter starts the transaction.
            found = (
                await conn.exec_driver_sql(
                    _UPSERT_USER if pg else _sqlite_sql(_UPSERT_USER),
                    (user_key, now if pg else _sqlite_ts(now), "{}"),
                )
            ).one()
            driver = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
            sql = _Sql(driver, self.dialect)
            user = UserRow(id=found[0], key=user_key, state=dict(sql.load(found[1]) or {}))
            conv = Conversation(conn, user, sql, self.session_cache, now,
                                self.liveness.worker)
            try:
                yield conv
                await conv._flush()
                if conv._session is not None:
                    await conv._session.flush()
                await conn.commit()
                conv._remember()
            finally:
                if conv._session is not None:
                    await conv._session.close()

    async def delivered(self, channel: str, event_id: str) -> None:
        """The channel has sent the replies of this event: forget them."""
        async with self.sessions() as db, db.begin():
            await db.execute(
                update(ProcessedEvent)
                .where(ProcessedEvent.channel == channel, ProcessedEvent.event_id == event_id,
                       ProcessedEvent.replies.is_not(None))
                .values(replies=null(), owner=None)
            )

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
    worker = new_worker_id()
    liveness: Liveness
    inline = inline_target(engine)
    if inline is not None:
        files = FileLiveness(inline.path, worker)
        files.start()
        liveness = files
    elif engine.dialect.name == "postgresql":
        advisory = AdvisoryLiveness(_asyncpg_connector(engine), worker)
        await advisory.start()
        liveness = advisory
    else:
        liveness = SingleProcess(worker)
    return Storage(engine, liveness)


def _asyncpg_connector(engine: AsyncEngine) -> Callable[[], Any]:
    """Plain asyncpg connections to the engine's database, outside its pool, with the
    arguments SQLAlchemy itself derives from the URL (socket folder, ssl…)."""
    import asyncpg

    args, kwargs = engine.dialect.create_connect_args(engine.url)

    def connect() -> Any:
        return asyncpg.connect(*args, **kwargs)

    return connect


__all__ = [
    "AnswerRecord",
    "Conversation",
    "DuplicateEvent",
    "SessionRecord",
    "SessionRow",
    "Storage",
    "open_storage",
]
