"""Two worker processes, one database: one person's messages never race.

Each person's messages are split across both workers, and each round sends two
*different* answers of the same person at the same moment, one to each worker.
Serialised per person (row lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite),
the two answers fill two consecutive questions; a lost update would store one
and show the same question number twice. A redelivered event sent to both
workers at once is answered by exactly one.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest

from bot.identity import pseudonym
from storage.sql.store import open_storage
from tests.conftest import PG_ENV, _reset_pg
from tests.worker_proc import WorkerClient

pytestmark = pytest.mark.slow

PEOPLE = 24
ROUNDS = 5  # two answers per round: ten answered questions per person
PROGRESS = re.compile(r"\((\d+)/25\)")


@pytest.fixture
def pg_url(pg_database: str | None) -> str:
    if pg_database is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} must be set in CI: the multi-worker test needs PostgreSQL.")
        pytest.skip(f"PostgreSQL: set {PG_ENV}=postgresql://postgres@127.0.0.1/test to run")
    _reset_pg(pg_database)
    return pg_database


def _progress(ack: dict[str, object]) -> int | None:
    """The question number a reply asks, e.g. 3 for « (3/25) »."""
    for text in ack["replies"]:  # type: ignore[union-attr]
        found = PROGRESS.search(str(text))
        if found:
            return int(found.group(1))
    return None


async def _two_workers_one_database(url: str) -> None:
    first, second = WorkerClient(url), WorkerClient(url)
    await first.start()  # migrates the schema before the second one connects
    await second.start()
    workers = (first, second)
    people = [f"personne{i}" for i in range(PEOPLE)]
    try:
        starts = await asyncio.gather(*(
            workers[i % 2].ask(p, "/facteurs", f"{p}-start") for i, p in enumerate(people)))
        assert all(_progress(a) == 1 for a in starts)

        seen: dict[str, list[int]] = {p: [] for p in people}
        for r in range(ROUNDS):
            pairs = []
            for p in people:
                pairs.append(first.send(p, "2", f"{p}-{r}-a"))
                pairs.append(second.send(p, "2", f"{p}-{r}-b"))
            for w in workers:
                assert w.proc is not None and w.proc.stdin is not None
                await w.proc.stdin.drain()
            for ack in await asyncio.wait_for(asyncio.gather(*pairs), 120):
                seen[str(ack["user"])].append(_progress(ack) or 0)

        # The same platform event delivered to both workers at once: handled once.
        duplicates = [w.send(p, "2", f"{p}-redelivered") for p in people for w in workers]
        for w in workers:
            assert w.proc is not None and w.proc.stdin is not None
            await w.proc.stdin.drain()
        acks = await asyncio.wait_for(asyncio.gather(*duplicates), 120)
        for p in people:
            answered = [a for a in acks if a["user"] == p and a["replies"]]
            assert len(answered) == 1, f"{p}: the redelivered event was handled {len(answered)}×"
            seen[p].append(_progress(answered[0]) or 0)
    finally:
        for w in workers:
            await w.close()

    expected_answers = 2 * ROUNDS + 1
    for p in people:
        # Every answer moved the person on by exactly one question: none lost, none twice.
        assert sorted(seen[p]) == list(range(2, expected_answers + 2)), (p, seen[p])

    storage = await open_storage(url)
    try:
        for p in people:
            key = pseudonym("worker-secret", "console", p)
            [session] = await storage.user_sessions(key, "facteurs")
            assert session.status == "in_progress"
            assert len(session.answers) == expected_answers
            steps = list(session.answers)
            assert len(set(steps)) == len(steps)
    finally:
        await storage.close()


async def test_two_workers_on_sqlite_never_lose_or_repeat_an_answer(tmp_path: Path) -> None:
    await _two_workers_one_database(f"sqlite:///{tmp_path / 'shared.db'}")


@pytest.mark.postgres
async def test_two_workers_on_postgresql_never_lose_or_repeat_an_answer(pg_url: str) -> None:
    await _two_workers_one_database(pg_url)
