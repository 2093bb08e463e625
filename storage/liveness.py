"""Which worker processes are alive: a lock each holds for as long as it runs.

When a platform delivers an event a second time and its replies were never
confirmed as sent, two cases look alike in the database: the worker that handled
it died before sending (send them now, or the person never sees the next
question), or it is alive and still sending (sending them again would show the
person the same question twice). The operating system or PostgreSQL tells them
apart without any timing guess: each worker holds a lock that is released the
moment its process or connection dies.

- SQLite (one machine): an exclusive ``flock`` on a file named after the worker,
  in a hidden folder next to the database file (``.coopbot.db.workers/``).
- PostgreSQL (workers on any machine): a session-level advisory lock on the
  worker's number, held on a connection of its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.database import Database, PostgresDatabase


class Liveness(Protocol):
    worker: int
    """This process's number."""

    async def alive(self, worker: int) -> bool: ...

    async def stop(self) -> None: ...


def new_worker_id() -> int:
    """A random positive 63-bit number: an advisory lock key on PostgreSQL."""
    return secrets.randbits(62) + 1


class FileLiveness:
    """Workers sharing one SQLite file."""

    def __init__(self, database: str, worker: int) -> None:
        self.worker = worker
        path = Path(database)
        self._folder = path.with_name(f".{path.name}.workers")  # hidden, next to the file
        self._held: int | None = None

    def start(self) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._folder / str(self.worker), os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._held = fd

    async def alive(self, worker: int) -> bool:
        if worker == self.worker:
            return True
        path = self._folder / str(worker)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            # Shared: probes of the same worker never exclude each other, only the
            # worker's own exclusive lock does.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # a dead worker's file: tidy up
            return False
        finally:
            os.close(fd)

    async def stop(self) -> None:
        if self._held is not None:
            with contextlib.suppress(FileNotFoundError):
                (self._folder / str(self.worker)).unlink()
            os.close(self._held)
            self._held = None


class AdvisoryLiveness:
    """Workers sharing one PostgreSQL database."""

    def __init__(self, engine: AsyncEngine, worker: int) -> None:
        self.worker = worker
        self._engine = engine
        self._holder: AsyncConnection | None = None

    async def start(self) -> None:
        # A connection of its own for the life of the process: the lock goes with it.
        self._holder = await self._engine.connect()
        await self._holder.execute(text("SELECT pg_advisory_lock(:worker)"),
                                   {"worker": self.worker})
        await self._holder.commit()

    async def alive(self, worker: int) -> bool:
        if worker == self.worker:
            return True
        # A shared lock: thirty redeliveries probing the same dead worker at once must
        # all see it dead (an exclusive probe made the others see it alive for a moment).
        async with self._engine.connect() as probe:
            free = (await probe.execute(text("SELECT pg_try_advisory_lock_shared(:worker)"),
                                        {"worker": worker})).scalar()
            if free:
                await probe.execute(text("SELECT pg_advisory_unlock_shared(:worker)"),
                                    {"worker": worker})
            await probe.commit()
        return not free

    async def stop(self) -> None:
        if self._holder is not None:
            await self._holder.close()
            self._holder = None


class SingleProcess:
    """An in-memory database: this process is the only one."""

    def __init__(self, worker: int) -> None:
        self.worker = worker

    async def alive(self, worker: int) -> bool:
        return worker == self.worker

    async def stop(self) -> None:
        return None


async def open_liveness(database: Database) -> Liveness:
    """This process's lock, of the kind the database allows."""
    worker = new_worker_id()
    if database.sqlite_path is not None:
        files = FileLiveness(database.sqlite_path, worker)
        files.start()
        return files
    if isinstance(database, PostgresDatabase):
        advisory = AdvisoryLiveness(database.engine, worker)
        await advisory.start()
        return advisory
    return SingleProcess(worker)
