"""Per-person locks: one message of a person at a time, and nothing left behind."""

from __future__ import annotations

import asyncio

from bot.locks import KeyedLocks


async def test_messages_of_one_person_wait_for_each_other_and_others_do_not() -> None:
    locks = KeyedLocks()
    order: list[str] = []

    async def message(key: str, name: str, pause: float) -> None:
        async with locks.hold(key):
            order.append(f"{name} starts")
            await asyncio.sleep(pause)
            order.append(f"{name} ends")

    await asyncio.gather(message("ana", "ana-1", 0.02), message("ana", "ana-2", 0.0),
                         message("ben", "ben-1", 0.0))
    assert order.index("ana-1 ends") < order.index("ana-2 starts")
    assert order.index("ben-1 ends") < order.index("ana-1 ends")
    assert len(locks) == 0


async def test_a_message_cancelled_while_waiting_leaves_no_lock_behind() -> None:
    locks = KeyedLocks()
    entered = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with locks.hold("ana"):
            entered.set()
            await release.wait()

    async def second() -> None:
        async with locks.hold("ana"):
            raise AssertionError("never entered: cancelled while waiting")

    holder = asyncio.create_task(first())
    await entered.wait()
    waiter = asyncio.create_task(second())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    release.set()
    await holder
    assert len(locks) == 0


async def test_an_error_inside_releases_the_lock() -> None:
    locks = KeyedLocks()
    try:
        async with locks.hold("ana"):
            raise ValueError("handler failed")
    except ValueError:
        pass
    async with locks.hold("ana"):
        pass
    assert len(locks) == 0
