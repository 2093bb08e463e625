"""One Matrix device, one process: two ``coopbot run`` on one PostgreSQL database.

The first serves Matrix, the second stands by. The first is killed (SIGKILL, no
goodbye): PostgreSQL drops its advisory lock with its connection, the second takes
the device over within a minute, with the crypto state the first left in the
database, and answers the message written meanwhile once, readable in the encrypted
direct chat. Plus the lock itself on both backends, without Matrix.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from storage.device_lock import device_lock
from tests.conftest import _reset_pg
from tests.synapse_fixture import SynapseServer
from tests.test_matrix_e2e import BotProcess
from tests.test_matrix_e2ee import BOT, Chat, from_bot, replies_to, wait_log

TAKEOVER_LIMIT = 60.0


@pytest.fixture
def pg_url(pg_database: str | None) -> str:
    if pg_database is None:
        if os.environ.get("CI") == "true":
            pytest.fail("COOPBOT_TEST_DATABASE_URL must be set in CI")
        pytest.skip("PostgreSQL: set COOPBOT_TEST_DATABASE_URL to run")
    _reset_pg(pg_database)
    return pg_database


async def _held_by_one_and_freed_when_released(url: str) -> None:
    first, second = device_lock(url, "matrix|x|bot"), device_lock(url, "matrix|x|bot")
    other = device_lock(url, "matrix|x|another-bot")
    assert await first.try_acquire()
    assert not await second.try_acquire()
    assert await other.try_acquire()  # another account is another device
    assert await first.healthy()
    await first.release()
    assert await second.try_acquire()
    await second.release()
    await other.release()


async def test_the_lock_on_sqlite(tmp_path: Path) -> None:
    await _held_by_one_and_freed_when_released(f"sqlite:///{tmp_path / 'coopbot.db'}")


async def test_the_lock_on_postgresql(pg_url: str) -> None:
    await _held_by_one_and_freed_when_released(pg_url)


@pytest.mark.synapse
@pytest.mark.node
@pytest.mark.slow
async def test_two_processes_one_serves_and_the_other_takes_over(
    synapse: SynapseServer, tmp_path: Path, pg_url: str, e2ee_person: Any
) -> None:
    bots = []
    for name in ("first", "second"):
        workdir = tmp_path / name
        workdir.mkdir()
        bot = BotProcess(synapse, workdir)
        bot.env["COOPBOT_DATABASE_URL"] = pg_url
        bots.append(bot)
    first, second = bots
    try:
        bob = await e2ee_person(synapse.bob)
        first.start()
        await wait_log(first, "Matrix: connected")
        second.start()
        await wait_log(second, "standing by")

        room = (await bob.call("create_dm", invite=BOT))["room_id"]
        await bob.wait_for(room, lambda ev: [e for e in from_bot(ev)
                                             if e["type"] == "m.room.message"],
                           what=f"a greeting\n{first.log()}")
        chat = Chat(bob, room)
        _, help_replies = await chat.say("/aide", bool, "help from the first process")
        assert "Matrix: connected" not in second.log()

        assert first.process is not None
        first.process.kill()  # SIGKILL: the lock goes with the connection
        first.process.wait(timeout=10)
        killed_at = time.monotonic()
        sent = await bob.call("send", room_id=room, text="/aide")
        await chat._replies(sent["event_id"], lambda r: len(r) >= len(help_replies),
                            f"the second process's answer\n{second.log()}")
        takeover = time.monotonic() - killed_at
        assert takeover < TAKEOVER_LIMIT, takeover
        assert "device lock taken" in second.log()
        await asyncio.sleep(3)  # an answer twice would have come by now
        events = await bob.call("events", room_id=room)
        assert len(replies_to(events, sent["event_id"])) == len(help_replies)
        assert not [e for e in events if e["sender"] == BOT and e["utd"]]
        print(f"\ndevice takeover after SIGKILL: {takeover:.1f} s")
        second.stop()
    finally:
        for bot in bots:
            bot.kill()
