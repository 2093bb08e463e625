"""« One Matrix device, one process »: a lock held for as long as a process serves it.

Two processes running one Olm account corrupt it for good (each ratchets the same
sessions and uploads its own one-time keys). With several ``coopbot run`` on one
database, the one that holds this lock serves Matrix; the others poll it and take over
when the holder dies. The lock is released by the operating system or by PostgreSQL
the moment the holder's process or connection dies, with no timing guess:

- **PostgreSQL**: a session-level advisory lock (two-key form, so it never meets the
  one-key worker locks of :mod:`storage.liveness`) on a connection of its own. TCP
  keepalives are set on that session (server side: idle 10 s, then 3 probes 5 s apart)
  so a holder whose machine vanished is released in about 25 s. The holder checks its
  connection every :data:`CHECK_EVERY` seconds and stops serving Matrix at once if it
  broke — before PostgreSQL could hand the lock to anyone else.
- **SQLite** (one machine): an exclusive ``flock`` on ``<database>.matrix-<hash>.lock``.
- An in-memory database: this process is the only one.

Written on stock drivers (asyncpg, fcntl); connection arguments are those SQLAlchemy
derives from the URL, as for the worker locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import make_url

from storage.database import asyncpg_connect_args

CHECK_EVERY = 10.0
RETRY_EVERY = 15.0
"""How often a process without the lock tries to take it (takeover within a minute)."""
_NAMESPACE = 0x4D58  # "MX": first key of the two-key advisory lock


class DeviceLock(Protocol):
    async def try_acquire(self) -> bool: ...
    async def healthy(self) -> bool: ...
    async def release(self) -> None: ...


def device_lock(database_url: str, name: str) -> DeviceLock:
    """The lock for device ``name`` (e.g. the Matrix account) in this database."""
    url = make_url(database_url)
    if url.get_backend_name() in ("postgresql", "postgres"):
        args, kwargs = asyncpg_connect_args(database_url)
        return AdvisoryDeviceLock(args, kwargs, _key(name))
    if url.database and url.database != ":memory:":
        path = Path(url.database).expanduser()
        tag = hashlib.sha256(name.encode()).hexdigest()[:8]
        return FileDeviceLock(path.with_name(f"{path.name}.matrix-{tag}.lock"))
    return ProcessDeviceLock()


def _key(name: str) -> int:
    """A stable signed 32-bit key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


class AdvisoryDeviceLock:
    def __init__(self, args: Any, kwargs: dict[str, Any], key: int) -> None:
        self._args, self._kwargs, self._key = args, kwargs, key
        self._conn: Any = None

    async def try_acquire(self) -> bool:
        import asyncpg

        if self._conn is None:
            self._conn = await asyncpg.connect(*self._args, **self._kwargs)
            await self._conn.execute(
                "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; "
                "SET tcp_keepalives_count = 3"
            )
        got = bool(await self._conn.fetchval(
            "SELECT pg_try_advisory_lock($1, $2)", _NAMESPACE, self._key))
        if not got:
            await self._close()
        return got

    async def healthy(self) -> bool:
        if self._conn is None:
            return False
        try:
            await asyncio.wait_for(self._conn.fetchval("SELECT 1"), timeout=5)
            return True
        except Exception:
            await self._close()
            return False

    async def release(self) -> None:
        await self._close()  # closing the session releases the lock

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=5)
            if not conn.is_closed():
                conn.terminate()


class FileDeviceLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def healthy(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class ProcessDeviceLock:
    async def try_acquire(self) -> bool:
        return True

    async def healthy(self) -> bool:
        return True

    async def release(self) -> None:
        return None
