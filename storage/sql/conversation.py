"""A person's conversation on SQL: loaded in one query, saved in one or two.

:func:`load` reads the person and their active session together, once the person's row
is locked (``FOR UPDATE`` on PostgreSQL; on SQLite ``BEGIN IMMEDIATE`` already gave
the transaction the file's write lock), so two workers never interleave one
person's messages. The job then decides on that snapshot; what it changes is
kept in the :class:`SqlConversation` and written by :meth:`SqlConversation.save`:
usually one ``UPDATE`` of the session row, plus the person's row when their
context changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Row, and_, bindparam, select
from sqlalchemy.engine import Connection

from flows.engine import FlowState
from storage.models import flow_sessions, kb_gaps, processed_events, users
from storage.protocols import DuplicateEvent, EventRef
from storage.records import Answers, SessionRecord
from storage.sealed import SealedBox
from storage.shared import OpenSessions
from storage.sql.dialect import insert
from storage.sql.outbox import SqlQueue
from storage.sql.privacy import forget_user, personal_data
from storage.sql.workshops import SqlWorkshops

LAST_SEEN_STEP = timedelta(minutes=1)
"""``last_seen_at`` (read by the retention purge, counted in days) moves by steps of
a minute: most messages then leave the person's row alone."""

S = flow_sessions.c
SESSION_COLUMNS = (S.id, S.user_id, S.flow_id, S.flow_version, S.status, S.history,
                   S.selection, S.answers, S.workshop_id, S.started_at, S.updated_at,
                   S.summary)
_LOAD = (
    select(users.c.id, users.c.state, users.c.active_session_id, users.c.last_seen_at,
           users.c.territory, *SESSION_COLUMNS)
    .select_from(users.outerjoin(flow_sessions, and_(
        S.id == users.c.active_session_id, S.user_id == users.c.id)))
    .where(users.c.key == bindparam("b_key"))
)
_LOCK = select(users.c.id).where(users.c.key == bindparam("b_key")).with_for_update()
_SAVE_SESSION = (
    flow_sessions.update().where(S.id == bindparam("b_id")).values(
        flow_version=bindparam("b_version"), status=bindparam("b_status"),
        history=bindparam("b_history"), selection=bindparam("b_selection"),
        answers=bindparam("b_answers"), summary=bindparam("b_summary"),
        updated_at=bindparam("b_now"))
)
_SAVE_USER = users.update().where(users.c.id == bindparam("b_id")).values(
    state=bindparam("b_state"), active_session_id=bindparam("b_active"),
    last_seen_at=bindparam("b_seen"), territory=bindparam("b_territory"))


def session_record(row: Row[Any] | Sequence[Any], start: int = 0) -> SessionRecord:
    """A record from the columns of :data:`SESSION_COLUMNS`, from ``start`` on."""
    (id_, user_id, flow_id, version, status, history, selection, answers, workshop_id,
     started_at, updated_at, summary) = row[start:start + len(SESSION_COLUMNS)]
    return SessionRecord(
        id=id_, user_id=user_id, flow_id=flow_id, flow_version=version, status=status,
        history=tuple(history or ()), selection=tuple(selection or ()),
        answers=Answers(answers), workshop_id=workshop_id,
        started_at=started_at, updated_at=updated_at, summary=summary,
    )


@cache
def _new_user(dialect: str) -> Any:
    return insert(dialect, users).on_conflict_do_nothing(index_elements=["key"])


@cache
def _claim(dialect: str) -> Any:
    return insert(dialect, processed_events).on_conflict_do_nothing()


def load(connection: Connection, user_key: str, now: datetime, worker: int,
         event: EventRef | None, box: SealedBox | None = None) -> SqlConversation:
    key = {"b_key": user_key}
    # PostgreSQL: lock the person's row first, then read. Locking in the reading query
    # itself would not do: after waiting for the lock, PostgreSQL re-reads the locked
    # row but keeps the session columns of its older snapshot (an update lost under two
    # workers). On SQLite, BEGIN IMMEDIATE already serialised the whole transaction.
    locks = connection.dialect.name == "postgresql"
    if locks and connection.execute(_LOCK, key).first() is None:
        _create(connection, user_key, now)
        connection.execute(_LOCK, key)
    row = connection.execute(_LOAD, key).first()
    if row is None:  # a new person (SQLite): created, then read like the others
        _create(connection, user_key, now)
        row = connection.execute(_LOAD, key).one()
    active = session_record(row, 5) if row[5] is not None else None
    conversation = SqlConversation(connection, user_key, row[0], dict(row[1] or {}), row[2],
                                   row[3], active, now, worker, event, box)
    conversation.load_territory(row[4])
    return conversation


def _create(connection: Connection, user_key: str, now: datetime) -> None:
    connection.execute(_new_user(connection.dialect.name).values(
        key=user_key, created_at=now, last_seen_at=now, state={}))


class SqlConversation(OpenSessions):
    def __init__(self, connection: Connection, user_key: str, user_id: int,
                 state: dict[str, Any], active_id: int | None, last_seen: datetime,
                 active: SessionRecord | None, now: datetime, worker: int,
                 event: EventRef | None, box: SealedBox | None = None) -> None:
        self._connection = connection
        self.user_key = user_key
        self.now = now
        self._user_id = user_id
        self._state = state
        self._stored = (dict(state), active_id, last_seen)
        self._active_id = active_id
        self._sessions: dict[int, SessionRecord] = {active.id: active} if active else {}
        self._dirty: set[int] = set()
        self._worker = worker
        self._event = event
        self._replies: list[dict[str, Any]] | None = None
        self.forgotten = False
        self.workshops = SqlWorkshops(connection, now)
        self._territory: str | None = None
        self._stored_territory: str | None = None
        self.outbox = SqlQueue(connection, now, box)

    def load_territory(self, territory: str | None) -> None:
        """The stored place, read with the person (see :func:`load`)."""
        self._territory = self._stored_territory = territory

    # --- context ------------------------------------------------------------------

    @property
    def state(self) -> Mapping[str, Any]:
        return self._state

    def set_state(self, **changes: Any) -> None:
        for key, value in changes.items():
            if value is None:
                self._state.pop(key, None)
            else:
                self._state[key] = value

    @property
    def territory(self) -> str | None:
        return self._territory

    def set_territory(self, key: str | None) -> None:
        self._territory = key

    # --- sessions -----------------------------------------------------------------

    def active_session(self) -> SessionRecord | None:
        if self._active_id is None:
            return None
        found = self.session(self._active_id)
        return found if found is not None and found.status == "in_progress" else None

    def set_active(self, session: SessionRecord | None) -> None:
        self._active_id = session.id if session is not None else None

    def session(self, session_id: int) -> SessionRecord | None:
        known = self._sessions.get(session_id)
        if known is not None:
            return known
        row = self._connection.execute(
            select(*SESSION_COLUMNS).where(S.id == session_id, S.user_id == self._user_id)
        ).first()
        return self._known(session_record(row)) if row is not None else None

    def start_session(self, state: FlowState, workshop_id: int | None = None) -> SessionRecord:
        row = self._connection.execute(
            flow_sessions.insert().values(
                user_id=self._user_id, flow_id=state.flow_id, flow_version=state.version,
                status=state.status, history=list(state.history),
                selection=list(state.selection), answers={}, workshop_id=workshop_id,
                started_at=self.now, updated_at=self.now,
            ).returning(*SESSION_COLUMNS)
        ).one()
        created = session_record(row)
        if state.answers:
            created = self.save_session(created, state)
        self._known(created)
        self.set_active(created)
        return created

    def save_session(self, session: SessionRecord, state: FlowState) -> SessionRecord:
        saved = self._known(session.with_state(state, self.now))
        self._dirty.add(saved.id)
        return saved

    def save_summary(self, session: SessionRecord, summary: Mapping[str, Any]) -> None:
        current = self._sessions.get(session.id, session)
        self._known(replace(current, summary=dict(summary), updated_at=self.now))
        self._dirty.add(session.id)

    def sessions(self, flow_id: str | None = None) -> list[SessionRecord]:
        query = select(*SESSION_COLUMNS).where(S.user_id == self._user_id).order_by(S.id)
        if flow_id is not None:
            query = query.where(S.flow_id == flow_id)
        found = [session_record(row) for row in self._connection.execute(query)]
        # What this message changed wins over what the database still holds.
        return [self._sessions.get(s.id, s) for s in found]

    def _known(self, session: SessionRecord) -> SessionRecord:
        self._sessions[session.id] = session
        return session

    # --- other records ------------------------------------------------------------

    def record_kb_gap(self, question: str, kind: str, entry_id: str | None = None) -> None:
        self._connection.execute(kb_gaps.insert().values(
            question=question[:500], kind=kind, entry_id=entry_id, created_at=self.now))

    def keep_replies(self, replies: list[dict[str, Any]]) -> None:
        self._replies = replies or None

    def personal_data(self) -> dict[str, Any]:
        data = personal_data(self._connection, self.user_key)
        if data["user"] is not None:  # as things stand now, this message included
            data["user"]["state"] = dict(self._state)
            data["user"]["territory"] = self._territory
        return data

    def forget(self) -> None:
        forget_user(self._connection, self.user_key)
        self._sessions.clear()
        self._dirty.clear()
        self.forgotten = True

    # --- end of the message ---------------------------------------------------------

    def save(self) -> None:
        """Write what the job changed; raise ``DuplicateEvent`` for a redelivered event."""
        if not self.forgotten:
            self._write()
        if self._event is not None:
            self._claim(self._event)

    def _write(self) -> None:
        connection = self._connection
        for session_id in sorted(self._dirty):
            s = self._sessions[session_id]
            connection.execute(_SAVE_SESSION, {
                "b_id": s.id, "b_version": s.flow_version, "b_status": s.status,
                "b_history": list(s.history), "b_selection": list(s.selection),
                "b_answers": s.answers.document, "b_summary": s.summary,
                "b_now": s.updated_at,
            })
        state, active, seen = self._stored
        stale = seen < self.now - LAST_SEEN_STEP
        moved = self._territory != self._stored_territory
        if stale or moved or self._state != state or self._active_id != active:
            connection.execute(_SAVE_USER, {
                "b_id": self._user_id, "b_state": self._state, "b_active": self._active_id,
                "b_seen": self.now if stale else seen, "b_territory": self._territory,
            })

    def _claim(self, event: EventRef) -> None:
        claimed = self._connection.execute(_claim(self._connection.dialect.name).values(
            channel=event.channel, event_id=event.event_id, processed_at=self.now,
            replies=self._replies,
            # Once forgotten, nothing is left to name them by.
            owner=None if self.forgotten or self._replies is None else self.user_key,
            handler=self._worker,
        ))
        if claimed.rowcount == 0:
            row = self._connection.execute(
                select(processed_events.c.replies, processed_events.c.handler).where(
                    processed_events.c.channel == event.channel,
                    processed_events.c.event_id == event.event_id)
            ).first()
            unsent = list(row[0]) if row is not None and row[0] else None
            raise DuplicateEvent(event, unsent, row[1] if row is not None else None)
