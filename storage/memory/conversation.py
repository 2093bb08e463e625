"""A person's conversation in memory: the behaviour of the SQL conversation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from flows.engine import FlowState
from storage.memory.data import EventRow, GapRow, Tables, UserRow
from storage.memory.outbox import MemoryQueue
from storage.memory.privacy import forget_user, personal_data
from storage.memory.workshops import MemoryWorkshops
from storage.protocols import DuplicateEvent, EventRef
from storage.records import Answers, SessionRecord
from storage.sealed import SealedBox
from storage.shared import OpenSessions


def load(tables: Tables, user_key: str, now: datetime, worker: int,
         event: EventRef | None, box: SealedBox | None = None) -> MemoryConversation:
    user = tables.users.get(user_key)
    if user is None:
        user = tables.users[user_key] = UserRow(tables.next_id(), user_key, now, now)
    return MemoryConversation(tables, user, now, worker, event, box)


class MemoryConversation(OpenSessions):
    def __init__(self, tables: Tables, user: UserRow, now: datetime, worker: int,
                 event: EventRef | None, box: SealedBox | None = None) -> None:
        self._t = tables
        self._user = user
        self.user_key = user.key
        self.now = now
        self._worker = worker
        self._event = event
        self._replies: list[dict[str, Any]] | None = None
        self.forgotten = False
        self.workshops = MemoryWorkshops(tables, now)
        self.outbox = MemoryQueue(tables, now, box)
        user.last_seen_at = now

    @property
    def state(self) -> Mapping[str, Any]:
        return self._user.state

    def set_state(self, **changes: Any) -> None:
        for key, value in changes.items():
            if value is None:
                self._user.state.pop(key, None)
            else:
                self._user.state[key] = value

    @property
    def territory(self) -> str | None:
        return self._user.territory

    def set_territory(self, key: str | None) -> None:
        self._user.territory = key

    def active_session(self) -> SessionRecord | None:
        active = self._user.active_session_id
        found = self.session(active) if active is not None else None
        return found if found is not None and found.status == "in_progress" else None

    def set_active(self, session: SessionRecord | None) -> None:
        self._user.active_session_id = session.id if session is not None else None

    def session(self, session_id: int) -> SessionRecord | None:
        found = self._t.sessions.get(session_id)
        return found if found is not None and found.user_id == self._user.id else None

    def start_session(self, state: FlowState, workshop_id: int | None = None) -> SessionRecord:
        created = SessionRecord(
            id=self._t.next_id(), user_id=self._user.id, flow_id=state.flow_id,
            flow_version=state.version, status=state.status, history=(), selection=(),
            answers=Answers(), workshop_id=workshop_id, started_at=self.now, updated_at=self.now,
        )
        created = created.with_state(state, self.now)
        self._t.sessions[created.id] = created
        self.set_active(created)
        return created

    def save_session(self, session: SessionRecord, state: FlowState) -> SessionRecord:
        saved = session.with_state(state, self.now)
        self._t.sessions[saved.id] = saved
        return saved

    def save_summary(self, session: SessionRecord, summary: Mapping[str, Any]) -> None:
        current = self._t.sessions.get(session.id, session)
        self._t.sessions[session.id] = replace(current, summary=dict(summary),
                                               updated_at=self.now)

    def sessions(self, flow_id: str | None = None) -> list[SessionRecord]:
        return [s for s in self._t.user_sessions(self._user.id)
                if flow_id is None or s.flow_id == flow_id]

    def record_kb_gap(self, question: str, kind: str, entry_id: str | None = None) -> None:
        self._t.kb_gaps.append(GapRow(question[:500], kind, entry_id, self.now))

    def keep_replies(self, replies: list[dict[str, Any]]) -> None:
        self._replies = replies or None

    def personal_data(self) -> dict[str, Any]:
        return personal_data(self._t, self.user_key)

    def forget(self) -> None:
        forget_user(self._t, self.user_key)
        self.forgotten = True

    def save(self) -> None:
        """Nothing to write (the working copy is the result); claim the event."""
        event = self._event
        if event is None:
            return
        known = self._t.events.get((event.channel, event.event_id))
        if known is not None:
            raise DuplicateEvent(event, list(known.replies) if known.replies else None,
                                 known.handler)
        owner = None if self.forgotten or self._replies is None else self.user_key
        self._t.events[(event.channel, event.event_id)] = EventRow(
            self.now, self._replies, owner, self._worker)
