"""Charts drawn in a pool of processes, off the event loop and off the reply path.

A chart costs about 0.1 s of CPU, more than the 26 messages of a questionnaire
together; drawn in the serving process it held every other conversation (capacity
fell from about 6,700 to 316 msgs/s). Here it is drawn by one of as many processes
as the machine has cores, reniced, so it takes only the CPU left over.

Hygiene: the processes come from a *forkserver* (never ``fork`` from a process that
already runs threads: the database driver's and the event loop's), which preloads
matplotlib once; each worker is replaced after ``max_tasks_per_child`` charts so
that a slow leak in a drawing library cannot grow for ever; the pool starts at the
first chart (``coopbot chat`` and the CLI never pay for it) or when ``coopbot run``
warms it, and ``close`` ends it.

A chart never loses a conversation: whatever goes wrong (a drawing error, a worker
killed, the pool closed meanwhile) is logged and ``draw`` returns ``None``.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

log = logging.getLogger(__name__)

WORKER_MODULE = "storage.reports.charts.worker"
MAX_TASKS_PER_CHILD = 500


def cores() -> int:
    """Cores this process may run on (the container's share, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Charts(Protocol):
    """What the assistant needs to draw a chart: :class:`ChartPool`, or a test's double."""

    async def draw(self, kind: str, data: Mapping[str, Any]) -> bytes | None: ...
    async def warm(self) -> None:
        """Get ready to draw (may do nothing)."""
        ...

    async def close(self) -> None: ...


class ChartPool:
    """``await pool.draw(kind, data)`` → PNG bytes, or ``None`` (no chart, or it failed)."""

    def __init__(self, workers: int | None = None,
                 max_tasks_per_child: int = MAX_TASKS_PER_CHILD) -> None:
        self.workers = workers or cores()
        self._max_tasks = max_tasks_per_child
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False

    def _start(self) -> ProcessPoolExecutor:
        """The executor only: its processes start with the first submits."""
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([WORKER_MODULE])
        from storage.reports.charts.worker import start_worker

        self._executor = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=context, initializer=start_worker,
            max_tasks_per_child=self._max_tasks)
        return self._executor

    async def draw(self, kind: str, data: Mapping[str, Any]) -> bytes | None:
        if self._closed:
            return None
        from storage.reports.charts.worker import draw

        executor = self._executor or self._start()
        try:
            # In a thread: a submit may start a process (the very first one waits for the
            # forkserver to load matplotlib, about a second), never on the event loop.
            future = await asyncio.to_thread(executor.submit, draw, kind, dict(data))
        except (BrokenProcessPool, RuntimeError):  # RuntimeError: shut down meanwhile
            if self._closed:
                return None
            log.exception("chart pool unusable; it is started again for the next chart")
            self._drop(executor)
            return None
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            log.exception("a chart process died (%s); the pool is started again", kind)
            self._drop(executor)
        except asyncio.CancelledError:
            if not future.cancelled():  # our caller was cancelled, not the chart
                raise
            log.info("chart %s not drawn: the pool was closed", kind)
        except Exception:
            log.exception("chart %s could not be drawn", kind)
        return None

    async def warm(self) -> None:
        """Start the forkserver and one process now (``coopbot run`` at start-up), so that
        the first person's chart does not wait for matplotlib to load (1 s or more)."""
        if self._closed:
            return
        from storage.reports.charts.worker import ready

        executor = self._executor or self._start()
        try:
            await asyncio.wrap_future(await asyncio.to_thread(executor.submit, ready))
        except Exception:  # the first chart will try again
            log.warning("chart processes could not be started ahead", exc_info=True)

    def _drop(self, executor: ProcessPoolExecutor) -> None:
        if self._executor is executor:
            self._executor = None
            executor.shutdown(wait=False, cancel_futures=True)

    async def close(self) -> None:
        """Stop the processes (charts not yet drawn are dropped); later draws give None."""
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
