"""Storage behaviour on SQLite and PostgreSQL: what is committed, deduplicated, kept."""

from __future__ import annotations

import asyncio

import pytest

from flows.engine import FlowState
from storage.db import DatabaseUrlError, async_url
from storage.repository import DuplicateEvent, open_storage


@pytest.fixture
async def storage(database_url):
    store = await open_storage(database_url)
    try:
        yield store
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u:p@h:5433/db", "postgresql+asyncpg://u:p@h:5433/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_plain_urls_get_an_async_driver(url, expected):
    assert async_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://x/y", "pas une url"])
def test_unsupported_urls_are_explained(url):
    with pytest.raises(DatabaseUrlError) as caught:
        async_url(url)
    assert "sqlite:///" in str(caught.value)


async def test_answers_are_saved_updated_and_removed(storage):
    async with storage.conversation("u") as conv:
        row = await conv.create_session(FlowState("f", "v1", ("a",), {"a": 1}, {"a": "note"}))
        conv.set_state(session_id=row.id)
    async with storage.conversation("u") as conv:
        row = await conv.active_session()
        before = await conv.load(row)
        assert before.answers == {"a": 1} and before.comments == {"a": "note"}
        after = FlowState("f", "v1", ("a", "b"), {"a": 2, "b": ["x", "y"]}, {})
        await conv.save(row, before, after)
    async with storage.conversation("u") as conv:
        row = await conv.active_session()
        loaded = await conv.load(row)
        assert loaded.answers == {"a": 2, "b": ["x", "y"]} and loaded.comments == {}
        await conv.save(row, loaded, FlowState("f", "v1", ("a",), {"a": 2}, {}))
    [record] = await storage.user_sessions("u")
    assert [(a.step, a.value) for a in record.answers] == [("a", 2)]


async def test_an_error_inside_a_conversation_keeps_nothing(storage):
    with pytest.raises(RuntimeError):
        async with storage.conversation("u") as conv:
            await conv.create_session(FlowState("f", "v1", ("a",), {"a": 1}, {}))
            raise RuntimeError("crash before commit")
    assert await storage.user_sessions("u") == []


async def test_an_event_is_claimed_once(storage):
    async with storage.conversation("u") as conv:
        await conv.claim_event("telegram", "42")
    with pytest.raises(DuplicateEvent):
        async with storage.conversation("u") as conv:
            await conv.claim_event("telegram", "42")
    async with storage.conversation("u") as conv:
        await conv.claim_event("matrix", "42")  # another channel's id space


async def test_concurrent_claims_of_one_event_let_exactly_one_through(storage):
    async def claim(i: int) -> bool:
        try:
            async with storage.conversation(f"user{i}") as conv:
                await conv.claim_event("telegram", "same")
            return True
        except DuplicateEvent:
            return False

    results = await asyncio.gather(*(claim(i) for i in range(5)))
    assert results.count(True) == 1


async def test_key_values_and_their_first_writer(storage):
    assert await storage.get_value("k") is None
    await storage.set_value("k", "1")
    await storage.set_value("k", "2")
    assert await storage.get_value("k") == "2"
    assert await storage.setdefault_value("secret", "a") == "a"
    assert await storage.setdefault_value("secret", "b") == "a"


async def test_knowledge_gaps_are_counted_without_user_keys(storage):
    for question in ("Qui finance ?", "qui finance ?", "autre chose"):
        async with storage.conversation("u") as conv:
            await conv.record_kb_gap(question, "unknown")
    gaps = await storage.list_kb_gaps()
    assert gaps[0] == ("qui finance ?", "unknown", 2)
    assert len(gaps) == 2
