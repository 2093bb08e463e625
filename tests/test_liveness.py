"""A worker sees whether another worker on the same database still runs."""

from __future__ import annotations

from storage.sql.store import open_storage


async def test_a_worker_is_alive_while_it_runs_and_dead_once_it_stopped(database_url: str) -> None:
    first = await open_storage(database_url)
    second = await open_storage(database_url)
    try:
        assert await first.worker_alive(second.liveness.worker)
        assert await second.worker_alive(first.liveness.worker)
        assert await first.worker_alive(first.liveness.worker)
        assert not await first.worker_alive(second.liveness.worker + 1)  # never existed
        assert not await first.worker_alive(None)
        gone = second.liveness.worker
        await second.close()
        assert not await first.worker_alive(gone)
    finally:
        await first.close()


async def test_many_people_asking_at_once_about_a_dead_worker_all_hear_it_is_dead(
        database_url: str) -> None:
    """After a crash, the redeliveries of thirty people ask together whether the dead
    worker lives: a probe must not make the others see it alive (each would then drop
    the replies that worker never sent, and its person would wait for a question)."""
    import asyncio

    first = await open_storage(database_url)
    second = await open_storage(database_url)
    try:
        gone = second.liveness.worker
        await second.close()
        answers = await asyncio.gather(*(first.worker_alive(gone) for _ in range(30)))
        assert not any(answers), f"{sum(answers)} of 30 probes saw the dead worker alive"
        third = await open_storage(database_url)
        try:
            alive = await asyncio.gather(*(first.worker_alive(third.liveness.worker)
                                           for _ in range(30)))
            assert all(alive), f"{30 - sum(alive)} of 30 probes saw a live worker dead"
        finally:
            await third.close()
    finally:
        await first.close()
