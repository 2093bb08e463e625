"""The tables of the in-memory storage, and its transactions.

A transaction works on a copy of the tables and replaces them when its job
returns, so that a job that raises leaves nothing behind, as on SQL. Records are
frozen; only the containers are copied.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from storage.records import SessionRecord, WorkshopRecord


@dataclass(slots=True)
class UserRow:
    id: int
    key: str
    created_at: datetime
    last_seen_at: datetime
    state: dict[str, Any] = field(default_factory=dict)
    active_session_id: int | None = None
    territory: str | None = None


@dataclass(frozen=True, slots=True)
class EventRow:
    processed_at: datetime
    replies: list[dict[str, Any]] | None
    owner: str | None
    handler: int | None


@dataclass(frozen=True, slots=True)
class GapRow:
    question: str
    kind: str
    entry_id: str | None
    created_at: datetime


@dataclass(slots=True)
class Tables:
    users: dict[str, UserRow] = field(default_factory=dict)
    sessions: dict[int, SessionRecord] = field(default_factory=dict)
    workshops: dict[int, WorkshopRecord] = field(default_factory=dict)
    cofacilitators: set[tuple[int, str]] = field(default_factory=set)
    invitations: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    wrong_codes: list[tuple[str, datetime]] = field(default_factory=list)
    kb_gaps: list[GapRow] = field(default_factory=list)
    events: dict[tuple[str, str], EventRow] = field(default_factory=dict)
    key_values: dict[str, str] = field(default_factory=dict)
    outbox: dict[int, Any] = field(default_factory=dict)
    """Row id → ``storage.memory.outbox.OutboxRow`` (frozen)."""
    addresses: dict[tuple[str, str], Any] = field(default_factory=dict)
    """(user key, channel) → ``storage.memory.outbox.AddressRow`` (frozen)."""
    last_id: int = 0

    def next_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def copy(self) -> Tables:
        """A working copy for one transaction (user rows are mutable: copied too)."""
        return Tables(
            users={k: replace(v, state=copy.deepcopy(v.state)) for k, v in self.users.items()},
            sessions=dict(self.sessions), workshops=dict(self.workshops),
            cofacilitators=set(self.cofacilitators), invitations=dict(self.invitations),
            wrong_codes=list(self.wrong_codes), kb_gaps=list(self.kb_gaps),
            events=dict(self.events), key_values=dict(self.key_values),
            outbox=dict(self.outbox), addresses=dict(self.addresses), last_id=self.last_id,
        )

    def user_sessions(self, user_id: int) -> list[SessionRecord]:
        return sorted((s for s in self.sessions.values() if s.user_id == user_id),
                      key=lambda s: s.id)
