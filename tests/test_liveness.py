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
