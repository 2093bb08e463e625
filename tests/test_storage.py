"""The storage seam's contract, on memory, SQLite and PostgreSQL alike.

Every behaviour the assistant relies on — what a message's job keeps, what an
error throws away, an event handled once, key-values, the knowledge gaps — is
checked on the in-memory double as on both databases, so that tests using the
double prove something about production.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from flows.engine import FlowState
from storage.database import DatabaseUrlError, PostgresDatabase, SqliteDatabase, open_database
from storage.memory.store import MemoryStorage
from storage.protocols import Conversation, DuplicateEvent, EventRef
from storage.sql.store import open_storage


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def store(request, tmp_path):
    if request.param == "memory":
        yield MemoryStorage()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'coopbot.db'}"
    else:
        url = request.getfixturevalue("database_url_postgresql")
    opened = await open_storage(url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.mark.parametrize(
    ("url", "kind", "dialect"),
    [
        ("sqlite:///x.db", SqliteDatabase, "sqlite"),
        ("sqlite://", SqliteDatabase, "sqlite"),
        ("postgresql://u@h/db", PostgresDatabase, "postgresql"),
        ("postgres://u:p@h:5433/db", PostgresDatabase, "postgresql"),
        ("postgresql+asyncpg://u@h/db", PostgresDatabase, "postgresql"),
    ],
)
async def test_plain_urls_open_the_right_database(url, kind, dialect, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    database = open_database(url)
    try:
        assert isinstance(database, kind) and database.dialect == dialect
    finally:
        await database.close()


@pytest.mark.parametrize("url", ["mysql://x/y", "pas une url"])
def test_unsupported_urls_are_explained(url):
    with pytest.raises(DatabaseUrlError) as caught:
        open_database(url)
    assert "sqlite:///" in str(caught.value)


def _start(conv: Conversation) -> int:
    session = conv.start_session(FlowState("f", "v1", ("a",), {"a": 1}, {"a": "note"}))
    return session.id


async def test_a_session_is_saved_updated_and_its_answers_removed(store):
    session_id = await store.conversation("u", _start)

    def answer(conv: Conversation) -> None:
        session = conv.active_session()
        assert session is not None and session.id == session_id
        before = session.flow_state
        assert before.answers == {"a": 1} and before.comments == {"a": "note"}
        conv.save_session(session, FlowState("f", "v1", ("a", "b"), {"a": 2, "b": ["x"]}, {}))

    await store.conversation("u", answer)

    def go_back(conv: Conversation) -> None:
        session = conv.active_session()
        assert session is not None
        loaded = session.flow_state
        assert loaded.answers == {"a": 2, "b": ["x"]} and loaded.comments == {}
        conv.save_session(session, FlowState("f", "v1", ("a",), {"a": 2}, {}))

    await store.conversation("u", go_back)
    [record] = await store.user_sessions("u")
    assert {step: a.value for step, a in record.answers.items()} == {"a": 2}
    assert record.history == ("a",)


async def test_an_unchanged_answer_keeps_its_moment(store):
    await store.conversation("u", _start)
    [first] = await store.user_sessions("u")

    def add(conv: Conversation) -> None:
        session = conv.active_session()
        assert session is not None
        state = session.flow_state
        conv.save_session(session, replace(state, answers={**state.answers, "b": 2}))

    await store.conversation("u", add)
    [later] = await store.user_sessions("u")
    assert later.answers["a"].at == first.answers["a"].at
    assert later.answers["b"].at >= first.answers["a"].at


async def test_an_error_inside_a_job_keeps_nothing(store):
    def crash(conv: Conversation) -> None:
        _start(conv)
        conv.set_state(seen=True)
        raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        await store.conversation("u", crash)
    assert await store.user_sessions("u") == []
    assert await store.conversation("u", lambda conv: dict(conv.state)) == {}


async def test_the_context_and_the_active_session_are_kept(store):
    def begin(conv: Conversation) -> None:
        _start(conv)
        conv.set_state(choices=["/aide"], draft={"title": "Atelier"})

    await store.conversation("u", begin)

    def read(conv: Conversation) -> tuple[dict[str, object], str | None]:
        active = conv.active_session()
        seen = dict(conv.state)
        conv.set_state(choices=None)
        return seen, active.flow_id if active else None

    assert await store.conversation("u", read) == (
        {"choices": ["/aide"], "draft": {"title": "Atelier"}}, "f")
    assert await store.conversation("u", lambda conv: dict(conv.state)) == {
        "draft": {"title": "Atelier"}}


async def test_an_event_is_handled_once_per_channel(store):
    await store.conversation("u", lambda conv: None, EventRef("telegram", "42"))
    with pytest.raises(DuplicateEvent):
        await store.conversation("u", lambda conv: None, EventRef("telegram", "42"))
    await store.conversation("u", lambda conv: None, EventRef("matrix", "42"))


async def test_a_duplicate_says_which_replies_were_never_sent(store):
    def reply(conv: Conversation) -> None:
        conv.keep_replies([{"text": "Question 2", "choices": [], "actions": []}])

    await store.conversation("u", reply, EventRef("telegram", "7"))
    with pytest.raises(DuplicateEvent) as caught:
        await store.conversation("u", lambda conv: _start(conv), EventRef("telegram", "7"))
    assert caught.value.unsent == [{"text": "Question 2", "choices": [], "actions": []}]
    assert caught.value.handler == store.worker
    assert await store.user_sessions("u") == []  # the duplicate's work was thrown away
    await store.delivered(EventRef("telegram", "7"))
    with pytest.raises(DuplicateEvent) as again:
        await store.conversation("u", lambda conv: None, EventRef("telegram", "7"))
    assert again.value.unsent is None


async def test_concurrent_claims_of_one_event_let_exactly_one_through(store):
    async def claim(i: int) -> bool:
        try:
            await store.conversation(f"user{i}", lambda conv: None, EventRef("telegram", "same"))
            return True
        except DuplicateEvent:
            return False

    results = await asyncio.gather(*(claim(i) for i in range(5)))
    assert results.count(True) == 1


async def test_key_values_and_their_first_writer(store):
    assert await store.get_value("k") is None
    await store.set_value("k", "1")
    await store.set_value("k", "2")
    assert await store.get_value("k") == "2"
    assert await store.setdefault_value("secret", "a") == "a"
    assert await store.setdefault_value("secret", "b") == "a"


async def test_knowledge_gaps_are_counted_without_user_keys(store):
    for question in ("Qui finance ?", "qui finance ?", "autre chose"):
        await store.conversation("u", lambda conv, q=question: conv.record_kb_gap(q, "unknown"))
    gaps = await store.kb_gaps()
    assert (gaps[0].question, gaps[0].kind, gaps[0].count) == ("qui finance ?", "unknown", 2)
    assert len(gaps) == 2


async def test_forgetting_leaves_no_session_and_no_person(store):
    await store.conversation("u", _start)
    await store.conversation("u", lambda conv: conv.forget())
    assert not await store.user_exists("u")
    assert await store.user_sessions("u") == []


async def test_the_territory_is_kept_changed_reported_removed_and_forgotten(store):
    """``/region``: the place is kept with the person, alone or with other changes."""
    assert await store.conversation("u", lambda conv: conv.territory) is None
    await store.conversation("u", lambda conv: conv.set_territory("35"))
    assert await store.conversation("u", lambda conv: conv.territory) == "35"

    def change(conv: Conversation) -> None:
        conv.set_territory("bretagne")
        conv.set_state(choices=["/aide"])

    await store.conversation("u", change)
    assert await store.conversation("u", lambda conv: conv.territory) == "bretagne"
    assert await store.conversation("other", lambda conv: conv.territory) is None

    def fails(conv: Conversation) -> None:
        conv.set_territory("2A")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await store.conversation("u", fails)
    assert await store.conversation("u", lambda conv: conv.territory) == "bretagne"

    def reported(conv: Conversation) -> object:
        conv.set_territory("2A")  # as things stand, this message included
        return conv.personal_data()["user"]["territory"]

    assert await store.conversation("u", reported) == "2A"
    await store.conversation("u", lambda conv: conv.set_territory(None))
    assert await store.conversation("u", lambda conv: conv.territory) is None
    await store.conversation("u", lambda conv: conv.set_territory("974"))
    await store.conversation("u", lambda conv: conv.forget())
    assert not await store.user_exists("u")
    assert await store.conversation("u", lambda conv: conv.territory) is None
