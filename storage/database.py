"""One way to run a transaction: ``await database.run(job)``, on either backend.

A *job* is a plain function that receives a SQLAlchemy ``Connection`` inside an
open transaction and returns a value; the transaction commits when it returns and
rolls back when it raises. The same job runs on both backends, through public
SQLAlchemy API and stock drivers only:

- **SQLite** (the embedded default): a synchronous engine on the standard
  ``sqlite3`` module, and the job runs right on the event loop's thread. A message's
  whole transaction is a few statements on a local WAL file, tens of microseconds
  of work; handing it to a thread costs more than doing it (measured: 0.55 ms of
  CPU per message through a writer thread against 0.23 ms inline, because the
  loop and the thread then fight for the GIL at every hop). Running inline also
  makes every job atomic within the process, so no lock is needed. Only waiting is
  asynchronous: another *process* holding the write lock makes ``BEGIN IMMEDIATE``
  fail at once (busy timeout 0), and the job is retried after an ``asyncio.sleep``.
  WAL checkpoints, the one slow write, run in a thread (:class:`Checkpointer`).
- **PostgreSQL**: an async engine on asyncpg, and the job runs through
  ``AsyncConnection.run_sync``: the same synchronous code, with every round trip
  awaited underneath. Jobs of different people run at once on pooled connections.

A URL is what an operator writes (``sqlite:///coopbot.db``, ``postgresql://u@h/db``);
the driver is chosen here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import orjson
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from storage.checkpoint import Checkpointer

T = TypeVar("T")
Job = Callable[[Connection], T]

BUSY_TIMEOUT_S = 30.0
"""How long a job waits for another process's write lock before failing."""
PG_CONVERSATIONS = 10
"""Jobs holding a PostgreSQL connection at once. Others wait in a first-come,
first-served queue rather than in the pool's, where a task that just finished can
overtake one that has waited for seconds."""


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says what to write instead."""


def _dumps(value: Any) -> str:
    """orjson: several times faster than :mod:`json` for the JSON columns."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _loads(value: Any) -> Any:
    # SQLite gives a JSON column numeric affinity: a stored '3' comes back as 3.
    return value if isinstance(value, int | float) else orjson.loads(value)


def asyncpg_connect_args(url: str) -> tuple[list[Any], dict[str, Any]]:
    """What asyncpg needs to reach the database of a ``postgresql://`` URL, as SQLAlchemy
    derives it (socket folder, ssl…): for connections that live outside any pool."""
    parsed = make_url(url).set(drivername="postgresql+asyncpg")
    args, kwargs = parsed.get_dialect()().create_connect_args(parsed)
    return list(args), dict(kwargs)


class Database(Protocol):
    dialect: str
    """``sqlite`` or ``postgresql``."""
    url: str
    """The URL as given (for messages, and for liveness on PostgreSQL)."""
    sqlite_path: str | None
    """The database file, for SQLite on disk."""

    async def run(self, job: Job[T]) -> T: ...

    async def close(self) -> None: ...


def open_database(url: str) -> Database:
    """The database behind ``url`` (no connection is made yet)."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise DatabaseUrlError(
            f"Adresse de base de données illisible : {url!r}. "
            "Exemples : sqlite:///coopbot.db ou postgresql://utilisateur@hôte/base"
        ) from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite":
        return SqliteDatabase(url, parsed.database or "")
    if backend in ("postgresql", "postgres"):
        if driver != "asyncpg":
            parsed = parsed.set(drivername="postgresql+asyncpg")
        return PostgresDatabase(url, parsed.render_as_string(hide_password=False))
    raise DatabaseUrlError(
        f"Base de données « {backend} » non prise en charge : utilisez sqlite:///… ou "
        "postgresql://…"
    )


_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=0",
    "PRAGMA wal_autocheckpoint=0",
)
"""WAL: readers never wait for the writer. NORMAL: a commit survives the process
being killed (the crash test), not a power cut between two checkpoints. Busy
timeout 0: a locked file is waited for with ``asyncio.sleep``, never by blocking
the loop. No automatic checkpoint: that one fsync would run inside a commit, on
the loop; :class:`Checkpointer` does it in a thread."""


def _is_busy(error: OperationalError) -> bool:
    text = str(error.orig)
    return "locked" in text or "busy" in text


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(self, url: str, database: str) -> None:
        self.url = url
        memory = database in ("", ":memory:")
        self.sqlite_path = None if memory else str(Path(database).expanduser())
        if self.sqlite_path:
            Path(self.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
        # One connection: jobs run one at a time on the loop's thread.
        self.engine: Engine = create_engine(
            f"sqlite:///{self.sqlite_path or ':memory:'}", poolclass=StaticPool,
            json_serializer=_dumps, json_deserializer=_loads,
        )
        event.listen(self.engine, "connect", _on_connect)
        self._connection: Connection | None = None
        self._checkpointer = Checkpointer(self.sqlite_path) if self.sqlite_path else None

    async def run(self, job: Job[T]) -> T:
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        pause = 0.001
        while True:
            try:
                return self.run_now(job)
            except OperationalError as error:
                # Another process holds the file's write lock: wait without blocking
                # the loop. A job only writes once ``BEGIN IMMEDIATE`` succeeded, so
                # a busy job has done nothing yet and is simply run again.
                if not _is_busy(error) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    def run_now(self, job: Job[T]) -> T:
        """The job in a transaction, synchronously (also for start-up and tests)."""
        if self._connection is None:
            self._connection = self.engine.connect()
            if self._checkpointer is not None:
                self._checkpointer.start()
        connection = self._connection
        with connection.begin():
            # IMMEDIATE: the write lock is taken first, so that two processes serialise
            # their read-modify-write of a conversation instead of losing an update.
            # Emitted here rather than from a "begin" event: an event listener makes
            # SQLAlchemy dispatch events around every statement.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return job(connection)

    async def close(self) -> None:
        if self._checkpointer is not None:
            await self._checkpointer.stop()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.engine.dispose()


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver then leaves transactions to us (SQLAlchemy's pysqlite recipe), so
    # that :meth:`SqliteDatabase.run_now` can open them with BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in _PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


class PostgresDatabase:
    dialect = "postgresql"
    sqlite_path = None

    def __init__(self, url: str, async_url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            async_url, pool_size=PG_CONVERSATIONS, max_overflow=20, pool_pre_ping=True,
            json_serializer=_dumps, json_deserializer=_loads,
        )
        self._turns: asyncio.Semaphore | None = None

    async def run(self, job: Job[T]) -> T:
        if self._turns is None:  # created here: it belongs to the running loop
            self._turns = asyncio.Semaphore(PG_CONVERSATIONS)
        async with self._turns, self.engine.begin() as connection:
            return await connection.run_sync(job)

    async def close(self) -> None:
        await self.engine.dispose()
