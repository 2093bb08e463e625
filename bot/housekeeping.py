"""Housekeeping inside ``coopbot run``: workshop reminders and closings, the daily purge.

Several ``coopbot run`` may share one database; one of them does the housekeeping at a
time, the holder of the ``housekeeping`` lease (a key-value row, renewed at each pass,
taken over when it expires: :meth:`storage.protocols.Outbox.lease`). Even so every
step is safe to run twice: reminders and closing notices are queued under idempotency
keys, and closing a closed workshop does nothing. ``coopbot purge`` stays for those who
prefer cron.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from bot.reminders import JobsDone, workshop_jobs
from flows.catalogue import Texts
from storage.protocols import Storage

log = logging.getLogger(__name__)

PASS_SECONDS = 30.0
LEASE_SECONDS = 120.0
PURGE_EVERY = timedelta(days=1)
LAST_PURGE_KEY = "housekeeping:last-purge"


class Housekeeping:
    def __init__(self, storage: Storage, texts: Texts, retention_days: int,
                 every: float = PASS_SECONDS) -> None:
        self.storage = storage
        self.texts = texts
        self.retention_days = retention_days
        self.every = every

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.once()
            except Exception:
                log.exception("housekeeping pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every)

    async def once(self) -> JobsDone | None:
        """One pass if this worker holds the lease; None when another one does."""
        if not await self.storage.lease("housekeeping", LEASE_SECONDS):
            return None
        texts = self.texts
        done = await self.storage.scheduled(
            lambda workshops, queue: workshop_jobs(texts, workshops, queue, workshops.now))
        if done.reminded or done.closed:
            log.info("housekeeping: %d reminder(s) queued, %d workshop(s) closed, "
                     "%d closing notice(s)", done.reminded, done.closed, done.notices)
        await self._purge_daily()
        await self.storage.erase_idle_addresses()
        return done

    async def _purge_daily(self) -> None:
        now = self.storage.clock.now()
        last = await self.storage.get_value(LAST_PURGE_KEY)
        if last is not None and datetime.fromisoformat(last) > now - PURGE_EVERY:
            return
        counts = await self.storage.purge(self.retention_days)
        await self.storage.set_value(LAST_PURGE_KEY, now.isoformat())
        log.info("housekeeping: daily purge (%d person(s), %d workshop(s))",
                 counts.users, counts.workshops)
