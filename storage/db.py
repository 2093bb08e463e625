"""Database engine creation and automatic migrations.

A plain ``sqlite:///`` or ``postgresql://`` URL is what an operator writes; the
async driver (aiosqlite, asyncpg) is chosen here. SQLite gets WAL (readers never
wait for the writer) and ``BEGIN IMMEDIATE`` transactions, so that two processes
sharing one file serialise their read-modify-write of a conversation instead of
losing an update.

SQLite runs *inline*: SQLAlchemy's aiosqlite dialect is kept, but the connection
it drives is :class:`InlineSqliteConnection`, which calls :mod:`sqlite3` directly
on the event loop's thread instead of hopping to aiosqlite's worker thread for
every cursor operation (about sixty hops per message, which cost far more than
the microseconds SQLite itself spends on a local WAL file). What could block the
loop is made asynchronous instead: SQLite's busy handler is off, and a locked
database is retried with ``asyncio.sleep``; and a process-wide asyncio lock is
taken before ``BEGIN IMMEDIATE`` so that the coroutines of one process queue in
asyncio rather than fight for SQLite's file lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession  # re-export
from sqlalchemy.pool import StaticPool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says what to write instead."""


def async_url(url: str) -> str:
    """``sqlite:///x.db`` → ``sqlite+aiosqlite:///x.db``; ``postgresql://`` → asyncpg."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise DatabaseUrlError(
            f"Adresse de base de données illisible : {url!r}. "
            "Exemples : sqlite:///coopbot.db ou postgresql://utilisateur@hôte/base"
        ) from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        if driver in ("asyncpg", "psycopg"):
            return parsed.render_as_string(hide_password=False)
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise DatabaseUrlError(
        f"Base de données « {backend} » non prise en charge : utilisez sqlite:///… ou "
        "postgresql://…"
    )


_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON")
"""WAL: readers never wait for the writer. NORMAL: a commit survives the process
being killed (the crash test), not a power cut between two checkpoints."""


def create_engine(url: str) -> AsyncEngine:
    full = async_url(url)
    if make_url(full).get_backend_name() != "sqlite":
        return create_async_engine(full, pool_size=10, max_overflow=20, pool_pre_ping=True)

    database = make_url(full).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        path = str(Path(database).expanduser())
        writer = WriteLock()

        async def connect() -> InlineSqliteConnection:
            return InlineSqliteConnection(path, writer)

        # Writes are serialised by ``writer``: a few connections are enough, and a
        # fixed pool avoids opening and closing overflow connections under load.
        engine = create_async_engine(full, async_creator=connect, pool_size=4,
                                     max_overflow=0, pool_timeout=BUSY_TIMEOUT_S * 2)
        _INLINE[engine.sync_engine] = InlineTarget(path, writer)
    else:
        engine = create_async_engine(full, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let us emit BEGIN ourselves (the aiosqlite recipe of SQLAlchemy's docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


BUSY_TIMEOUT_S = 30.0
"""How long a statement waits for another process's write lock before failing."""


class WriteLock:
    """This process's turn to write to one SQLite file, first come first served.

    Held by one task from ``BEGIN IMMEDIATE`` to ``COMMIT``/``ROLLBACK`` (and, for a
    conversation, from before its connection is chosen to after its commit). A task
    that asks while another holds it waits here, in asyncio's FIFO queue, instead of
    in SQLite's busy handler (which sleeps the whole thread) or in a connection
    pool's queue (where a task that just finished can overtake one that has waited
    for seconds). Re-entrant for the holding task. Created lazily so that it belongs
    to the running event loop.
    """

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._holder: asyncio.Task[Any] | None = None
        self._depth = 0

    def _current(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop, self._holder, self._depth = asyncio.Lock(), loop, None, 0
        return self._lock

    async def acquire(self) -> None:
        lock = self._current()
        task = asyncio.current_task()
        if self._holder is task and self._depth:
            self._depth += 1
            return
        if not lock.locked():
            await lock.acquire()  # free: no task, no waiting
        else:
            try:
                await asyncio.wait_for(lock.acquire(), BUSY_TIMEOUT_S)
            except TimeoutError:
                # Same error as SQLite's own busy timeout: the caller's code waits on
                # a transaction it holds itself, or another one never ends.
                raise sqlite3.OperationalError("database is locked") from None
        self._holder, self._depth = task, 1

    def release(self) -> None:
        if self._depth == 0 or self._lock is None:
            return
        self._depth -= 1
        if self._depth == 0:
            self._holder = None
            self._lock.release()

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error)
    return "locked" in text or "busy" in text


class InlineCursor:
    """The part of ``aiosqlite.Cursor`` that SQLAlchemy's dialect uses, run inline."""

    def __init__(self, owner: InlineSqliteConnection) -> None:
        self._owner = owner
        self._cursor = owner._conn.cursor()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        await self._owner._run(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, seq: Any) -> InlineCursor:
        await self._owner._run(self._cursor.executemany, sql, seq)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _InlineQueue:
    """aiosqlite's private job queue, used by SQLAlchemy's isolation-level setter."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed to the awaiting caller
            future.set_exception(exc)


class InlineSqliteConnection:
    """A :mod:`sqlite3` connection with ``aiosqlite.Connection``'s async surface.

    Each call completes on the loop's thread (a local WAL write takes microseconds);
    only waiting — for this process's write lock or another process's — suspends.
    """

    def __init__(self, path: str, writer: WriteLock) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout=0")  # we wait in asyncio instead
        self._writer = writer
        self._holding = False
        self._tx = _InlineQueue()

    def set_pragmas(self) -> None:
        for pragma in _PRAGMAS:
            self._conn.execute(pragma)

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            self._writer.release()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    async def _run(self, call: Callable[..., Any], sql: str, *args: Any) -> Any:
        begins = sql.lstrip()[:5].upper() == "BEGIN" and not self._holding
        if begins:
            await self._writer.acquire()
            self._holding = True
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        pause = 0.001
        try:
            while True:
                try:
                    return call(sql, *args)
                except sqlite3.OperationalError as error:
                    # Another process holds the file's write lock: wait without
                    # blocking the loop, as SQLite's busy timeout would have.
                    if not _is_busy(error) or time.monotonic() > deadline:
                        raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.05)
        except BaseException:
            if begins:
                self._release()
            raise

    async def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        cursor = InlineCursor(self)
        return await cursor.execute(sql, parameters)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def commit(self) -> None:
        try:
            if self._conn.in_transaction:
                await self._run(lambda _sql: self._conn.commit(), "COMMIT")
        finally:
            self._release()

    async def rollback(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self._release()

    async def close(self) -> None:
        try:
            self._conn.close()
        finally:
            self._release()

    def stop(self) -> None:
        self._conn.close()
        self._release()


class BorrowedConnection(InlineSqliteConnection):
    """Another view of a connection whose transaction someone else owns.

    Lets an ORM session work inside a conversation's transaction on SQLite: its
    statements run on the conversation's own sqlite3 connection, and its begin,
    commit, rollback and close do nothing — the conversation commits or rolls back.
    """

    def __init__(self, owner: InlineSqliteConnection) -> None:
        self._conn = owner._conn
        self._writer = owner._writer
        self._holding = False
        self._tx = _IgnoredQueue()

    async def _run(self, call: Callable[..., Any], sql: str, *args: Any) -> Any:
        if sql.lstrip()[:5].upper() == "BEGIN":
            return None
        return call(sql, *args)

    async def commit(self) -> None:
        return None

    async def rollback(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def stop(self) -> None:
        return None


class _IgnoredQueue:
    """Settings such as the isolation level belong to the owner: setting
    ``isolation_level`` on a sqlite3 connection commits its open transaction."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        item[0].set_result(None)


@dataclass(frozen=True)
class InlineTarget:
    """What a storage needs to open its own direct connection to a SQLite file."""

    path: str
    writer: WriteLock

    def connect(self) -> InlineSqliteConnection:
        """The conversations' connection: it never checkpoints on commit (that fsyncs
        on the event loop); :class:`Checkpointer` does it in a thread instead."""
        connection = InlineSqliteConnection(self.path, self.writer)
        connection.set_pragmas()
        connection._conn.execute("PRAGMA wal_autocheckpoint=0")
        return connection


class Checkpointer:
    """Copies the WAL back into the database file from a worker thread.

    SQLite normally does this inside the commit that fills the WAL past 1,000 pages,
    with an fsync, which on the event loop's thread stalls every conversation for
    that long. A ``PASSIVE`` checkpoint never waits for readers or writers, so it
    can run beside them; SQLite releases the GIL while it writes.
    """

    INTERVAL_S = 0.5

    def __init__(self, path: str) -> None:
        self.path = path
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._conn: sqlite3.Connection | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stopping = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(self._stopping))

    async def _run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.INTERVAL_S)
            if stopping.is_set():
                break
            with contextlib.suppress(sqlite3.Error):  # busy: the next round will do
                await asyncio.to_thread(self._checkpoint)

    def _checkpoint(self) -> None:
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, timeout=0.1, isolation_level=None,
                                         check_same_thread=False)
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def stop(self) -> None:
        """Let a running checkpoint finish (never close its connection under it)."""
        if self._task is not None:
            self._stopping.set()
            await self._task
            self._task = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None


_INLINE: weakref.WeakKeyDictionary[Any, InlineTarget] = weakref.WeakKeyDictionary()


def inline_target(engine: AsyncEngine) -> InlineTarget | None:
    """The SQLite file behind ``engine`` when it runs inline, else None."""
    return _INLINE.get(engine.sync_engine)


def borrowing_engine(owner: InlineSqliteConnection) -> AsyncEngine:
    """An engine whose only connection borrows ``owner``'s (for ORM sessions)."""

    async def connect() -> BorrowedConnection:
        return BorrowedConnection(owner)

    return create_async_engine("sqlite+aiosqlite://", async_creator=connect,
                               poolclass=StaticPool)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest Alembic revision (run at every start).

    The usual case — the database is already at the head — is checked with one
    query against revisions read from the migration files, without importing
    Alembic (a quarter of a second of ``coopbot chat``'s start-up).
    """
    heads = _script_heads()
    if heads:
        async with engine.connect() as conn:
            try:
                found = await conn.exec_driver_sql("SELECT version_num FROM alembic_version")
                current = {row[0] for row in found}
            except Exception:  # no version table yet: a new database
                current = set()
            finally:
                await conn.rollback()
        if current == heads:
            return
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


_REVISION = re.compile(r"^revision\b[^=]*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\b[^=]*=\s*(.+)$", re.MULTILINE)


def _script_heads() -> set[str]:
    """Head revisions of ``migrations/versions`` (revisions no other one builds on).

    Empty when a file cannot be read this simply: Alembic then decides.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN.search(text)
        if revision is None or down is None:
            return set()
        revisions.add(revision.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return revisions - parents


def _upgrade(sync_conn) -> None:  # type: ignore[no-untyped-def]
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = sync_conn
    heads = set(ScriptDirectory.from_config(config).get_heads())
    current = set(MigrationContext.configure(sync_conn).get_current_heads())
    if current != heads:
        command.upgrade(config, "head")
