"""The chart processes: real drawings, failures that cost only the chart, no process left.

Processes are found in /proc (Linux): descendants of this test process, which
include the forkserver and the chart workers it forks.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from bot.messages import Incoming
from bot.testing import memory_assistant
from storage.reports.charts import render_chart
from storage.reports.charts.pool import ChartPool
from tests.test_charts import all_factors, facteurs_summary

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _parents() -> dict[int, int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    return parents


def descendants(pid: int | None = None) -> set[int]:
    parents, found, frontier = _parents(), set(), {pid or os.getpid()}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def chart_workers() -> set[int]:
    """Grandchildren: the forkserver is our child, the workers are its children."""
    children = {c for c, p in _parents().items() if p == os.getpid()}
    return descendants() - children


async def _gone(pids: set[int], timeout: float = 10) -> bool:
    for _ in range(int(timeout / 0.05)):
        if not pids & descendants():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_the_pool_draws_the_same_picture_as_drawing_in_process() -> None:
    pool = ChartPool(workers=2)
    summaries = [facteurs_summary(dict.fromkeys(all_factors(), r)) for r in (1, 2, 3, 4)]
    try:
        drawn = await asyncio.gather(*(pool.draw("facteurs", s) for s in summaries))
    finally:
        await pool.close()
    assert drawn == [render_chart("facteurs", s) for s in summaries]
    assert await pool.draw("unknown-kind", summaries[0]) is None


async def test_a_chart_that_fails_gives_none_and_the_next_one_is_drawn(caplog) -> None:
    pool = ChartPool(workers=1)
    summary = facteurs_summary(dict.fromkeys(all_factors(), 3))
    try:
        assert await pool.draw("facteurs", {"families": "not a list"}) is None
        assert "could not be drawn" in caplog.text
        assert (await pool.draw("facteurs", summary) or b"").startswith(b"\x89PNG")
    finally:
        await pool.close()


async def test_a_killed_chart_process_costs_one_chart_and_the_pool_comes_back(caplog) -> None:
    others = chart_workers()  # other tests' pools, left alone
    pool = ChartPool(workers=1)
    summary = facteurs_summary(dict.fromkeys(all_factors(), 3))
    try:
        assert await pool.draw("facteurs", summary)
        pending = asyncio.gather(*(pool.draw("facteurs", summary) for _ in range(3)))
        await asyncio.sleep(0.05)
        for pid in chart_workers() - others:
            os.kill(pid, signal.SIGKILL)
        results = await asyncio.wait_for(pending, 30)
        assert None in results and "died" in caplog.text
        assert (await pool.draw("facteurs", summary) or b"").startswith(b"\x89PNG")
    finally:
        await pool.close()


async def test_closing_the_assistant_ends_its_chart_processes() -> None:
    others = chart_workers()
    assistant = memory_assistant()
    key = assistant.user_key("console", "closer")
    for text in ["/facteurs", "2", "Projet"] + ["3"] * 23 + ["valider"]:  # valider: the recap
        replies = await assistant.handle(Incoming("console", key, "console", text=text))
    assert replies[-1].image is not None  # drawn by the pool
    workers = chart_workers() - others
    assert workers, "the chart was drawn in another process"
    await assistant.close()
    assert await _gone(workers), "no chart process is left after close"
    assert await assistant.charts.draw("facteurs", {"families": []}) is None


async def test_warming_starts_a_chart_process_that_close_ends() -> None:
    others = chart_workers()
    pool = ChartPool(workers=1)
    await pool.warm()
    workers = chart_workers() - others
    assert workers, "a chart process is ready before the first chart"
    await pool.close()
    assert await _gone(workers)
    await pool.warm()  # closed: starts nothing
    assert chart_workers() <= others
