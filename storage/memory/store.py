"""Storage in memory, for tests: every call is a transaction on a copy of the tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from storage.liveness import new_worker_id
from storage.memory import conversation as conversations
from storage.memory.data import Tables
from storage.memory.privacy import purge
from storage.memory.workshops import MemoryWorkshops
from storage.models import utcnow
from storage.protocols import Conversation, EventRef, WorkshopStore
from storage.records import GapCount, PurgeCounts, SessionRecord
from storage.shared import decide_and_save

T = TypeVar("T")


class MemoryStorage:
    """The storage seam's shipped double: the SQL behaviour, without a database."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.worker = new_worker_id()
        self.dead_workers: set[int] = set()
        """Workers a test declares stopped (see :meth:`worker_alive`)."""

    def _transaction(self, job: Callable[[Tables], T]) -> T:
        working = self.tables.copy()
        result = job(working)
        self.tables = working
        return result

    async def conversation(self, user_key: str, job: Callable[[Conversation], T],
                           event: EventRef | None = None) -> T:
        return self._transaction(lambda tables: decide_and_save(
            conversations.load(tables, user_key, utcnow(), self.worker, event), job))

    async def workshops(self, job: Callable[[WorkshopStore], T]) -> T:
        return self._transaction(lambda t: job(MemoryWorkshops(t, utcnow())))

    async def delivered(self, event: EventRef) -> None:
        known = self.tables.events.get((event.channel, event.event_id))
        if known is not None and known.replies is not None:
            self.tables.events[(event.channel, event.event_id)] = replace(
                known, replies=None, owner=None)

    async def worker_alive(self, worker: int | None) -> bool:
        return worker is not None and worker not in self.dead_workers

    async def get_value(self, key: str) -> str | None:
        return self.tables.key_values.get(key)

    async def set_value(self, key: str, value: str) -> None:
        self.tables.key_values[key] = value

    async def setdefault_value(self, key: str, value: str) -> str:
        return self.tables.key_values.setdefault(key, value)

    async def user_exists(self, user_key: str) -> bool:
        return user_key in self.tables.users

    async def user_sessions(self, user_key: str,
                            flow_id: str | None = None) -> list[SessionRecord]:
        user = self.tables.users.get(user_key)
        if user is None:
            return []
        return [s for s in self.tables.user_sessions(user.id)
                if flow_id is None or s.flow_id == flow_id]

    async def kb_gaps(self, limit: int = 50) -> list[GapCount]:
        counts: dict[tuple[str, str], int] = {}
        for gap in self.tables.kb_gaps:
            key = (gap.question.lower(), gap.kind)
            counts[key] = counts.get(key, 0) + 1
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0][0]))
        return [GapCount(q, k, n) for (q, k), n in ranked[:limit]]

    async def purge(self, days: int) -> PurgeCounts:
        return self._transaction(lambda t: purge(t, days, utcnow()))

    async def close(self) -> None:
        return None
