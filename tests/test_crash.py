"""A worker killed with SIGKILL in the middle of thirty conversations loses nothing.

Thirty people fill in ``facteurs`` at the same time, each sending the next answer
once the previous one was acknowledged. The worker is killed (``SIGKILL``: no
cleanup) after a couple of hundred acknowledgements, with a message of nearly
every person in flight. Then:

- every acknowledged answer is in the database, at its step, with its value;
- at most the one in-flight message per person was stored besides, never more;
- a restarted worker shows each person the question after their last stored answer;
- the in-flight messages, delivered again with the same event id (as Telegram
  redelivers an unacknowledged update), are applied at most once in total, the
  person gets the next question either way (the replies a dead worker never sent
  are sent then), and every person finishes with exactly one complete session of
  25 answers, validated at the recap (« valider », issue 14: 27 messages a person).
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.identity import pseudonym
from flows.registry import load_flows
from storage.models import processed_events
from storage.records import SessionRecord
from storage.sql.store import open_storage
from tests.conftest import PG_ENV, _reset_pg, pg_connect
from tests.worker_proc import WorkerClient

pytestmark = pytest.mark.slow

PEOPLE = 30
KILL_AFTER_ACKS = 200
PROGRESS = re.compile(r"\((\d+)/25\)")


@pytest.fixture
def pg_url(pg_database: str | None) -> str:
    if pg_database is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} must be set in CI: the crash test also runs on PostgreSQL.")
        pytest.skip(f"PostgreSQL: set {PG_ENV}=postgresql://postgres@127.0.0.1/test to run")
    _reset_pg(pg_database)
    return pg_database


def script(person: int) -> list[tuple[str, Any]]:
    """(message, value expected in storage) for /facteurs, the 25 answers, « valider »."""
    flow = load_flows()["facteurs"]
    messages: list[tuple[str, Any]] = [("/facteurs", None)]
    for k, step in enumerate(flow.steps):
        if step.type == "choice":
            index = (person + k) % len(step.options)
            messages.append((str(index + 1), step.options[index].value))
        elif step.type == "text":
            messages.append((f"Projet de la personne {person}", f"Projet de la personne {person}"))
        else:
            mark = (person + k) % 4 + 1
            messages.append((str(mark), mark))
    messages.append(("valider", None))  # the recap (issue 14): stores no answer
    return messages


def _facteurs(records: list[SessionRecord]) -> list[SessionRecord]:
    return [r for r in records if r.flow_id == "facteurs"]


def _next_shown(ack: dict[str, object]) -> int | None:
    """The question number the replies end on (None: no question, e.g. the summary)."""
    shown = [int(m.group(1)) for t in ack["replies"]  # type: ignore[attr-defined]
             for m in [PROGRESS.search(str(t))] if m]
    assert ack["replies"], ack
    return shown[-1] if shown else None


async def _server_noticed_the_death(url: str) -> None:
    """PostgreSQL finishes a COMMIT it had received from the killed worker and only then
    drops its connections: the crash is over when no other connection remains."""
    if not url.startswith("postgresql"):
        return
    conn = await pg_connect(url)
    try:
        for _ in range(200):
            others = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            if others == 0:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the killed worker's connections are still open after 10 s")
    finally:
        await conn.close()


async def _answer_count(url: str, person: int) -> int:
    storage = await open_storage(url)
    try:
        sessions = _facteurs(await storage.user_sessions(pseudonym("", "console", f"p{person}")))
        return sum(len(s.answers) for s in sessions)
    finally:
        await storage.close()


async def _crash_and_resume(url: str) -> None:
    flow = load_flows()["facteurs"]
    steps = [s.id for s in flow.steps]
    scripts = {p: script(p) for p in range(PEOPLE)}
    acked: dict[int, int] = dict.fromkeys(range(PEOPLE), 0)  # messages acknowledged
    worker = WorkerClient(url)
    await worker.start()
    killed = asyncio.Event()

    async def person(p: int) -> None:
        for k, (text, _value) in enumerate(scripts[p]):
            try:
                await worker.ask(f"p{p}", text, f"p{p}-{k}", timeout=120)
            except ConnectionError:
                return
            acked[p] = k + 1
            if sum(acked.values()) >= KILL_AFTER_ACKS and not killed.is_set():
                killed.set()
                worker.kill()

    await asyncio.gather(*(person(p) for p in range(PEOPLE)))
    await worker.close()
    assert killed.is_set(), "the load finished before the kill: raise KILL_AFTER_ACKS"
    in_flight = [p for p in range(PEOPLE) if acked[p] < len(scripts[p])]
    assert len(in_flight) > PEOPLE // 2, "the kill should land with many messages in flight"

    # After the crash, before any restart: what was acknowledged is stored, once.
    await _server_noticed_the_death(url)
    storage = await open_storage(url)
    stored: dict[int, int] = {}
    owed: set[int] = set()  # people whose in-flight message has replies never confirmed sent
    try:
        unsent = await storage.database.run(lambda c: c.execute(
            select(processed_events.c.event_id).where(processed_events.c.replies.is_not(None))
        ).scalars().all())
        owed = {int(e.split("-")[0][1:]) for e in unsent}
        for p in range(PEOPLE):
            sessions = _facteurs(await storage.user_sessions(pseudonym("", "console", f"p{p}")))
            if acked[p] == 0:
                assert len(sessions) <= 1
                stored[p] = -1 if not sessions else 0
                continue
            [session] = sessions
            answers = {step: a.value for step, a in session.answers.items()}
            assert len(answers) == len(session.answers)
            answering = min(acked[p], len(steps) + 1)  # « valider » answers no step
            for k in range(1, answering):  # message k answered step k-1
                step = steps[k - 1]
                assert answers.get(step) == scripts[p][k][1], (p, step, answers.get(step))
            assert answering - 1 <= len(answers) <= answering, (p, acked[p], len(answers))
            stored[p] = len(answers)
    finally:
        await storage.close()

    # Restart: each person resumes at the question after their last stored answer,
    # then the unacknowledged message is delivered again with the same event id.
    worker = WorkerClient(url)
    await worker.start()
    try:
        async def resume(p: int) -> None:
            if stored[p] >= 0:
                ack = await worker.ask(f"p{p}", "/reprendre", f"p{p}-resume")
                shown = [int(m.group(1)) for t in ack["replies"]  # type: ignore[union-attr]
                         for m in [PROGRESS.search(str(t))] if m]
                assert shown == [stored[p] + 1], (p, stored[p], ack["replies"])
            for k in range(acked[p], len(scripts[p])):
                ack = await worker.ask(f"p{p}", scripts[p][k][0], f"p{p}-{k}", timeout=120)
                if k == acked[p]:
                    # Not stored before the crash: handled now. Stored (message k gave
                    # the k-th answer, or created the session): a redelivery, whose
                    # answer does not count again (checked below: every answer exactly
                    # once); the replies the dead worker never confirmed as sent go
                    # now, and those it had sent (its ack was lost with the pipe) do not.
                    if stored[p] == k and p not in owed:
                        assert ack["replies"] == [], (p, k, ack)
                    else:
                        assert _next_shown(ack) == (k + 1 if k < 25 else None), (p, k, ack)
                    if stored[p] == k:
                        assert await _answer_count(url, p) == k, (p, k)
                else:
                    assert ack["replies"], (p, k)

        await asyncio.gather(*(resume(p) for p in range(PEOPLE)))
    finally:
        await worker.close()

    storage = await open_storage(url)
    try:
        for p in range(PEOPLE):
            [session] = _facteurs(await storage.user_sessions(pseudonym("", "console", f"p{p}")))
            assert session.status == "completed"
            assert sorted(session.answers, key=steps.index) == steps
            values = {step: a.value for step, a in session.answers.items()}
            assert values == {steps[k - 1]: scripts[p][k][1] for k in range(1, 26)}
            assert session.summary is not None
    finally:
        await storage.close()


async def test_a_killed_worker_loses_no_acknowledged_answer_on_sqlite(tmp_path: Path) -> None:
    await _crash_and_resume(f"sqlite:///{tmp_path / 'crash.db'}")


@pytest.mark.postgres
async def test_a_killed_worker_loses_no_acknowledged_answer_on_postgresql(pg_url: str) -> None:
    await _crash_and_resume(pg_url)
