"""Storage in memory, for tests: every call is a transaction on a copy of the tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from storage.clock import SYSTEM_CLOCK, Clock
from storage.delivery import CLAIM_BATCH
from storage.liveness import new_worker_id
from storage.memory import conversation as conversations
from storage.memory import outbox
from storage.memory.data import Tables
from storage.memory.privacy import purge
from storage.memory.workshops import MemoryWorkshops
from storage.protocols import Conversation, EventRef, MessageQueue, WorkshopStore
from storage.records import ClaimedMessage, GapCount, PurgeCounts, SessionRecord
from storage.sealed import SealedBox
from storage.shared import decide_and_save

T = TypeVar("T")


class MemoryStorage:
    """The storage seam's shipped double: the SQL behaviour, without a database."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK, worker: int | None = None) -> None:
        self.tables = Tables()
        self.clock = clock
        self.worker = worker if worker is not None else new_worker_id()
        self._box: SealedBox | None = None
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
            conversations.load(tables, user_key, self.clock.now(), self.worker, event,
                               self._box), job))

    async def workshops(self, job: Callable[[WorkshopStore], T]) -> T:
        return self._transaction(lambda t: job(MemoryWorkshops(t, self.clock.now())))

    async def scheduled(self, job: Callable[[WorkshopStore, MessageQueue], T]) -> T:
        def run(t: Tables) -> T:
            now = self.clock.now()
            return job(MemoryWorkshops(t, now), outbox.MemoryQueue(t, now, self._box))

        return self._transaction(run)

    def use_secret(self, secret: str) -> None:
        self._box = SealedBox(secret, "chat address")

    async def claim_due(self, channel: str, limit: int = CLAIM_BATCH) -> list[ClaimedMessage]:
        if self._box is None:
            raise RuntimeError("no secret to open chat addresses with (use_secret)")
        box = self._box
        dead = [w for w in outbox.claimers(self.tables, channel)
                if not await self.worker_alive(w)]
        return self._transaction(lambda t: outbox.claim(
            t, channel, self.clock.now(), self.worker, dead, box, limit))

    async def mark_sent(self, message_id: int) -> None:
        self._transaction(lambda t: outbox.mark_sent(t, message_id, self.clock.now()))

    async def mark_failed(self, message_id: int) -> None:
        self._transaction(lambda t: outbox.mark_failed(t, message_id, self.clock.now()))

    async def mark_unreachable(self, message_id: int) -> None:
        self._transaction(lambda t: outbox.mark_unreachable(t, message_id, self.clock.now()))

    async def lease(self, name: str, seconds: float) -> bool:
        key, now = f"lease:{name}", self.clock.now()
        held = self.tables.key_values.get(key)
        if held is not None:
            holder, _, until = held.partition("|")
            if holder != str(self.worker) and datetime.fromisoformat(until) > now:
                return False
        self.tables.key_values[key] = (
            f"{self.worker}|{(now + timedelta(seconds=seconds)).isoformat()}")
        return True

    async def erase_idle_addresses(self) -> int:
        return self._transaction(lambda t: outbox.erase_idle_addresses(t, self.clock.now()))

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
        return self._transaction(lambda t: purge(t, days, self.clock.now()))

    async def close(self) -> None:
        return None
