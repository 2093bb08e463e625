"""Copies SQLite's write-ahead log back into the database file, from a worker thread.

SQLite normally does this inside the commit that fills the log past 1,000 pages,
with an fsync; on the event loop's thread that stalls every conversation for as
long. A ``PASSIVE`` checkpoint never waits for readers or writers, so it can run
beside them, and SQLite releases the GIL while it writes.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool


class Checkpointer:
    INTERVAL_S = 0.5

    def __init__(self, path: str) -> None:
        self.path = path
        self._engine: Engine | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None
        self.rounds = 0
        """Checkpoints made (for tests and curiosity)."""

    def start(self) -> None:
        """Begin checkpointing (needs a running loop; a no-op outside one)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._task is None or self._task.done():
            self._stopping = asyncio.Event()
            self._task = loop.create_task(self._run(self._stopping))

    async def _run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.INTERVAL_S)
            if stopping.is_set():
                break
            with contextlib.suppress(OperationalError):  # busy: the next round will do
                await asyncio.to_thread(self.checkpoint)

    def checkpoint(self) -> None:
        if self._engine is None:
            self._engine = create_engine(f"sqlite:///{self.path}", poolclass=NullPool,
                                         connect_args={"timeout": 0.1})
        with self._engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        self.rounds += 1

    async def stop(self) -> None:
        """Let a running checkpoint finish (never pull the file from under it)."""
        if self._task is not None and self._stopping is not None:
            self._stopping.set()
            await self._task
            self._task = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
