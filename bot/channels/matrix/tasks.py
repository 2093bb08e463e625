"""Handler tasks chained per (room, sender), and the sync-token watermark over them.

- **No stall.** Each event is handled in its own task, chained per (room, sender) so
  one person's messages keep their order while other people are served at once (a
  message waiting for its room key waits in its own chain only).
- **No replay and no loss across restarts.** ``next_batch`` is stored
  (``matrix:next_batch``) only once every event of that sync, and of every sync before
  it, has been handled. A message that arrived while the bot was down is in the next
  sync and gets its answer; one handled just before a crash may come again and the
  core drops it (it deduplicates on the event id).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from bot.channels.matrix.base import BATCH_KEY, KeyValue

log = logging.getLogger("coopbot.matrix")

SHUTDOWN_GRACE = 20.0


class Tasks:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv
        self._chains: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._batches: deque[tuple[str, list[asyncio.Task[None]]]] = deque()
        self.saved_batch: str | None = None
        self._progress = asyncio.Event()
        self._saver: asyncio.Task[None] | None = None

    def start(self, saved: str | None) -> None:
        self.saved_batch = saved
        self._saver = asyncio.create_task(self._save_loop(), name="matrix-saver")

    def schedule(
        self, key: tuple[str, str], work: Callable[[], Coroutine[Any, Any, None]]
    ) -> asyncio.Task[None]:
        """Run ``work`` after the previous task of the same key (order kept per person)."""
        previous = self._chains.get(key)

        async def chained() -> None:
            if previous is not None:
                await asyncio.wait({previous})
            await work()

        task = asyncio.create_task(chained())
        self._chains[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))
        return task

    def batch(self, token: str, tasks: list[asyncio.Task[None]]) -> None:
        """The tasks of the sync that ends at ``token``."""
        self._batches.append((token, tasks))
        self._progress.set()

    def _finished(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._chains.get(key) is task:
            del self._chains[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("Matrix: handler failed", exc_info=task.exception())
        self._progress.set()

    async def _save_loop(self) -> None:
        while True:
            await self._progress.wait()
            self._progress.clear()
            await self._advance()

    async def _advance(self) -> None:
        """Store the newest sync token whose events (and all before) are handled."""
        token: str | None = None
        while self._batches and all(task.done() for task in self._batches[0][1]):
            token = self._batches.popleft()[0]
        if token is None or token == self.saved_batch:
            return
        try:
            await self.kv.set_value(BATCH_KEY, token)
            self.saved_batch = token
        except Exception:  # the next progress retries; never kill the saver
            log.exception("Matrix: could not store the sync token")

    async def shutdown(self) -> None:
        """Let running handlers finish (a grace period), store the watermark, cancel the rest."""
        pending = [task for _, tasks in self._batches for task in tasks if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=SHUTDOWN_GRACE)
        if self._saver is not None:
            self._saver.cancel()
            await asyncio.gather(self._saver, return_exceptions=True)
            await self._advance()
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
