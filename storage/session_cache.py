"""Decoded answers of recently active sessions, kept between a person's messages.

Reading a session's answers back at every message (one row per answer, each value
JSON-decoded) was the largest single cost of a message after the commit itself. A
person answers a questionnaire message after message, so the answers written by
one message are exactly what the next one reads: this process keeps them.

The database stays the truth. An entry is used only if the session row read in the
new transaction still carries the ``updated_at`` (and ``started_at`` and owner) it
had when the entry was stored, i.e. nobody — another worker, a purge, a restart —
wrote the session since; otherwise the answers are read from the database as
before. Entries are stored only after a commit, so a rolled-back message leaves no
trace here. Entries unused for ``ttl_s`` go, so that memory does not hold answers
long after a person left; ``drop_user`` removes a person's at once (« /oublier »).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class CachedAnswers:
    user_id: int
    started_at: datetime
    updated_at: datetime
    values: Mapping[str, Any]
    comments: Mapping[str, str]
    used_at: float


class SessionCache:
    def __init__(self, max_entries: int = 20_000, ttl_s: float = 3600.0) -> None:
        self._entries: OrderedDict[int, CachedAnswers] = OrderedDict()
        self.max_entries = max_entries
        self.ttl_s = ttl_s

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, session_id: int) -> bool:
        return session_id in self._entries

    def get(self, session_id: int, user_id: int, started_at: datetime,
            updated_at: datetime) -> CachedAnswers | None:
        """The entry if it still describes the session row just read, else None."""
        entry = self._entries.get(session_id)
        if entry is None:
            return None
        if (entry.user_id, entry.started_at, entry.updated_at) != (
            user_id, started_at, updated_at
        ):
            del self._entries[session_id]
            return None
        return entry

    def put(self, session_id: int, user_id: int, started_at: datetime, updated_at: datetime,
            values: Mapping[str, Any], comments: Mapping[str, str]) -> None:
        now = time.monotonic()
        self._entries[session_id] = CachedAnswers(user_id, started_at, updated_at,
                                                  values, comments, now)
        self._entries.move_to_end(session_id)
        self._evict(now)

    def drop_user(self, user_id: int) -> None:
        for session_id in [s for s, e in self._entries.items() if e.user_id == user_id]:
            del self._entries[session_id]

    def clear(self) -> None:
        self._entries.clear()

    def _evict(self, now: float) -> None:
        entries = self._entries
        while len(entries) > self.max_entries:
            entries.popitem(last=False)
        while entries:
            oldest = next(iter(entries.values()))
            if now - oldest.used_at <= self.ttl_s:
                break
            entries.popitem(last=False)
