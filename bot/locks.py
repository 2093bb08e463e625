"""One lock per conversation key, created on demand and dropped when idle.

Two messages of one person must not race on the stored state; messages of
different people must not wait for each other. (Across processes the database
row lock does the same job; this lock keeps one process from queueing its own
messages on the database.)
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    def hold(self, key: str) -> _Held:
        """``async with locks.hold(key):`` — a plain object, not a generator-based
        context manager: it is entered at every message."""
        return _Held(self, key)

    def __len__(self) -> int:
        return len(self._locks)


class _Held:
    __slots__ = ("_key", "_lock", "_locks")

    def __init__(self, locks: KeyedLocks, key: str) -> None:
        self._locks = locks
        self._key = key
        self._lock: asyncio.Lock | None = None

    async def __aenter__(self) -> None:
        locks, key = self._locks, self._key
        lock = locks._locks.get(key)
        if lock is None:
            lock = locks._locks[key] = asyncio.Lock()
        locks._users[key] = locks._users.get(key, 0) + 1
        try:
            await lock.acquire()
        except BaseException:
            self._leave()
            raise
        self._lock = lock

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        assert self._lock is not None
        self._lock.release()
        self._leave()

    def _leave(self) -> None:
        users, key = self._locks._users, self._key
        users[key] -= 1
        if users[key] == 0:
            del users[key]
            del self._locks._locks[key]
