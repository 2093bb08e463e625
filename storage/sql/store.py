"""The storage the assistant runs on: every call is one job in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, null, select
from sqlalchemy.engine import Connection

from storage.clock import SYSTEM_CLOCK, Clock
from storage.database import Database, open_database
from storage.delivery import CLAIM_BATCH
from storage.liveness import Liveness, open_liveness
from storage.migrate import migrate
from storage.models import kb_gaps, key_values, processed_events, users
from storage.protocols import Conversation, EventRef, MessageQueue, WorkshopStore
from storage.records import ClaimedMessage, GapCount, PurgeCounts, SessionRecord
from storage.sealed import SealedBox
from storage.shared import decide_and_save
from storage.sql import conversation as conversations
from storage.sql import outbox, privacy
from storage.sql.dialect import insert
from storage.sql.workshops import SqlWorkshops

T = TypeVar("T")
ADDRESS_PURPOSE = "chat address"
"""The HKDF ``info`` of the chat addresses' key (one secret, one key per use)."""


class SqlStorage:
    def __init__(self, database: Database, liveness: Liveness,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.database = database
        self.liveness = liveness
        self.worker = liveness.worker
        self.clock = clock
        self._box: SealedBox | None = None

    def use_secret(self, secret: str) -> None:
        self._box = SealedBox(secret, ADDRESS_PURPOSE)

    @property
    def dialect(self) -> str:
        return self.database.dialect

    async def close(self) -> None:
        await self.liveness.stop()
        await self.database.close()

    # --- conversations ---------------------------------------------------------------

    async def conversation(self, user_key: str, job: Callable[[Conversation], T],
                           event: EventRef | None = None) -> T:
        return await self.database.run(lambda connection: decide_and_save(
            conversations.load(connection, user_key, self.clock.now(), self.worker, event,
                               self._box), job))

    async def workshops(self, job: Callable[[WorkshopStore], T]) -> T:
        return await self.database.run(lambda c: job(SqlWorkshops(c, self.clock.now())))

    async def scheduled(self, job: Callable[[WorkshopStore, MessageQueue], T]) -> T:
        def run(c: Connection) -> T:
            now = self.clock.now()
            return job(SqlWorkshops(c, now), outbox.SqlQueue(c, now, self._box))

        return await self.database.run(run)

    # --- outbox -------------------------------------------------------------------------

    async def delivered(self, event: EventRef) -> None:
        e = processed_events.c
        await self.database.run(lambda c: c.execute(
            processed_events.update()
            .where(e.channel == event.channel, e.event_id == event.event_id,
                   e.replies.is_not(None))
            .values(replies=null(), owner=None)))

    async def worker_alive(self, worker: int | None) -> bool:
        return worker is not None and await self.liveness.alive(worker)

    async def claim_due(self, channel: str, limit: int = CLAIM_BATCH) -> list[ClaimedMessage]:
        if self._box is None:
            raise RuntimeError("no secret to open chat addresses with (use_secret)")
        box = self._box
        holders = await self.database.run(lambda c: outbox.claimers(c, channel))
        dead = [w for w in holders if not await self.liveness.alive(w)]
        return await self.database.run(lambda c: outbox.claim(
            c, channel, self.clock.now(), self.worker, dead, box, limit))

    async def mark_sent(self, message_id: int) -> None:
        await self.database.run(lambda c: outbox.mark_sent(c, message_id, self.clock.now()))

    async def mark_failed(self, message_id: int) -> None:
        await self.database.run(lambda c: outbox.mark_failed(c, message_id, self.clock.now()))

    async def mark_unreachable(self, message_id: int) -> None:
        await self.database.run(lambda c: outbox.mark_unreachable(c, message_id,
                                                                  self.clock.now()))

    async def lease(self, name: str, seconds: float) -> bool:
        """A row ``lease:<name>`` in the key-value table: ``<worker>|<expiry>``.

        Taken when absent, expired or already ours, in one transaction (the row locked
        on PostgreSQL; SQLite's write lock serialises): two workers never both hold it.
        """
        key = f"lease:{name}"

        def job(c: Connection) -> bool:
            now = self.clock.now()
            mine = f"{self.worker}|{(now + timedelta(seconds=seconds)).isoformat()}"
            taken = c.execute(insert(c.dialect.name, key_values)
                              .values(key=key, value=mine, updated_at=now)
                              .on_conflict_do_nothing(index_elements=["key"]))
            if taken.rowcount:
                return True
            held = c.execute(select(key_values.c.value).where(key_values.c.key == key)
                             .with_for_update()).scalar_one()
            holder, _, until = held.partition("|")
            if holder != str(self.worker) and datetime.fromisoformat(until) > now:
                return False
            c.execute(key_values.update().where(key_values.c.key == key)
                      .values(value=mine, updated_at=now))
            return True

        return await self.database.run(job)

    # --- key-value ----------------------------------------------------------------------

    async def get_value(self, key: str) -> str | None:
        return await self.database.run(lambda c: c.execute(
            select(key_values.c.value).where(key_values.c.key == key)).scalar())

    async def set_value(self, key: str, value: str) -> None:
        def job(c: Connection) -> None:
            stmt = insert(c.dialect.name, key_values).values(
                key=key, value=value, updated_at=self.clock.now())
            c.execute(stmt.on_conflict_do_update(
                index_elements=["key"],
                set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at}))

        await self.database.run(job)

    async def setdefault_value(self, key: str, value: str) -> str:
        def job(c: Connection) -> str:
            c.execute(insert(c.dialect.name, key_values)
                      .values(key=key, value=value, updated_at=self.clock.now())
                      .on_conflict_do_nothing(index_elements=["key"]))
            return str(c.execute(select(key_values.c.value)
                                 .where(key_values.c.key == key)).scalar_one())

        return await self.database.run(job)

    # --- maintenance --------------------------------------------------------------------

    async def user_exists(self, user_key: str) -> bool:
        return await self.database.run(lambda c: c.execute(
            select(users.c.id).where(users.c.key == user_key)).first() is not None)

    async def user_sessions(self, user_key: str,
                            flow_id: str | None = None) -> list[SessionRecord]:
        def job(c: Connection) -> list[SessionRecord]:
            user_id = c.execute(select(users.c.id).where(users.c.key == user_key)).scalar()
            if user_id is None:
                return []
            s = conversations.S
            query = select(*conversations.SESSION_COLUMNS).where(s.user_id == user_id)
            if flow_id is not None:
                query = query.where(s.flow_id == flow_id)
            return [conversations.session_record(r) for r in c.execute(query.order_by(s.id))]

        return await self.database.run(job)

    async def kb_gaps(self, limit: int = 50) -> list[GapCount]:
        """Unanswered questions and unhelpful answers, most frequent first."""
        g = kb_gaps.c
        question, count = func.lower(g.question), func.count(g.id)
        query = (select(question, g.kind, count).group_by(question, g.kind)
                 .order_by(count.desc(), question).limit(limit))
        rows = await self.database.run(lambda c: c.execute(query).all())
        return [GapCount(q, k, int(n)) for q, k, n in rows]

    async def purge(self, days: int) -> PurgeCounts:
        return await self.database.run(lambda c: privacy.purge(c, days, self.clock.now()))

    async def erase_idle_addresses(self) -> int:
        return await self.database.run(lambda c: outbox.erase_idle_addresses(
            c, self.clock.now()))


async def open_storage(url: str, clock: Clock = SYSTEM_CLOCK) -> SqlStorage:
    """Connect and migrate. Raises ``storage.database.DatabaseUrlError`` on a bad URL."""
    database = open_database(url)
    try:
        await migrate(database)
        liveness = await open_liveness(database)
    except BaseException:
        await database.close()
        raise
    return SqlStorage(database, liveness, clock)
