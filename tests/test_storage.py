"""The storage seam's contract, on memory, SQLite and PostgreSQL alike.

Every behaviour the assistant relies on — what a message's job keeps, what an
error throws away, an event handled once, key-values, the knowledge gaps — is
checked on the in-memory double as on both databases, so that tests using the
double prove something about production.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.testing import TestClock
from flows.engine import FlowState
from storage.database import DatabaseUrlError, PostgresDatabase, SqliteDatabase, open_database
from storage.delivery import MAX_ATTEMPTS, retry_delay
from storage.memory.store import MemoryStorage
from storage.protocols import Conversation, DuplicateEvent, EventRef
from storage.records import ClaimedMessage, QueuedMessage
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


# --- the outbox: messages Coopbot sends first -------------------------------------------


class Outboxes:
    """One backend with a controlled clock, and a second worker on the same data."""

    def __init__(self, kind: str, url: str | None, clock: TestClock) -> None:
        self.kind, self.url, self.clock = kind, url, clock
        self.store: Any = None
        self.opened: list[Any] = []

    async def open(self) -> Any:
        if self.kind == "memory":
            store: Any = MemoryStorage(self.clock)
        else:
            store = await open_storage(self.url or "", self.clock)
            self.opened.append(store)
        store.use_secret("test-secret")
        return store

    async def claim_as_dead_worker(self, channel: str) -> list[ClaimedMessage]:
        """Claim with another worker, which then dies holding its claims."""
        if self.kind == "memory":
            mine = self.store.worker
            self.store.worker = mine + 1
            claimed = await self.store.claim_due(channel)
            self.store.dead_workers.add(mine + 1)
            self.store.worker = mine
            return claimed
        other = await self.open()
        claimed = await other.claim_due(channel)
        self.opened.remove(other)
        await other.close()  # its liveness lock goes with it
        return claimed


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def outboxes(request, tmp_path):
    url = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'coopbot.db'}"
    elif request.param == "postgresql":
        url = request.getfixturevalue("database_url_postgresql")
    harness = Outboxes(request.param, url, TestClock())
    harness.store = await harness.open()
    try:
        yield harness
    finally:
        for store in harness.opened:
            await store.close()


def _reminder(key: str, user: str = "p", due: datetime | None = None,
              workshop: int | None = 7) -> QueuedMessage:
    return QueuedMessage(key, user, "telegram", due or datetime(2026, 12, 2, 9, tzinfo=UTC),
                         [{"text": "Rappel", "choices": [], "actions": []}], "reminder",
                         workshop)


def _join(conv: Conversation, chat: str = "4242") -> None:
    conv.outbox.remember_address(conv.user_key, "telegram", chat)


async def test_a_queued_message_is_queued_once_and_claimed_with_its_address(outboxes):
    store = outboxes.store
    await store.conversation("p", _join)
    first = await store.conversation("f", lambda conv: conv.outbox.queue(_reminder("r1")))
    again = await store.conversation("f", lambda conv: conv.outbox.queue(_reminder("r1")))
    assert (first, again) == (True, False)
    [claimed] = await store.claim_due("telegram")
    assert (claimed.user_key, claimed.chat_id, claimed.kind) == ("p", "4242", "reminder")
    assert claimed.message[0]["text"] == "Rappel" and claimed.attempts == 1
    assert await store.claim_due("telegram") == []  # claimed: nobody else takes it
    assert await store.claim_due("matrix") == []
    await store.mark_sent(claimed.id)
    assert await store.claim_due("telegram") == []
    counts = await store.scheduled(lambda w, q: q.workshop_counts(7))
    assert (counts.reminders_sent, counts.reminders_pending, counts.unreachable) == (1, 0, 0)


async def test_a_message_waits_for_its_due_time(outboxes):
    store, clock = outboxes.store, outboxes.clock
    await store.conversation("p", _join)
    later = clock.now() + timedelta(hours=2)
    await store.conversation("f", lambda conv: conv.outbox.queue(_reminder("r", due=later)))
    assert await store.claim_due("telegram") == []
    clock.advance(hours=2)
    assert len(await store.claim_due("telegram")) == 1


async def test_chat_addresses_are_sealed_at_rest(outboxes):
    store = outboxes.store
    await store.conversation("p", lambda conv: _join(conv, "987654321"))
    if outboxes.kind == "memory":
        stored = [a.sealed for a in store.tables.addresses.values()]
    else:
        stored = await store.database.run(lambda c: [r[0] for r in c.execute(
            text("SELECT sealed FROM chat_addresses"))])
    assert len(stored) == 1 and "987654321" not in stored[0]
    assert await store.conversation("x", lambda c: c.outbox.reachable_channel("p")) == "telegram"


async def test_a_failed_send_is_retried_later_then_given_up(outboxes):
    store, clock = outboxes.store, outboxes.clock
    await store.conversation("p", _join)
    await store.conversation("f", lambda conv: conv.outbox.queue(_reminder("r")))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        [claimed] = await store.claim_due("telegram")
        assert claimed.attempts == attempt
        await store.mark_failed(claimed.id)
        assert await store.claim_due("telegram") == []  # not before its backoff
        clock.advance(retry_delay(attempt))
    assert await store.claim_due("telegram") == []  # given up


async def test_a_person_who_blocked_the_bot_is_unreachable_without_retries(outboxes):
    store, clock = outboxes.store, outboxes.clock
    await store.conversation("p", _join)
    await store.conversation("f", lambda conv: conv.outbox.queue(_reminder("r1")))
    later = clock.now() + timedelta(hours=1)
    await store.conversation("f", lambda conv: conv.outbox.queue(_reminder("r2", due=later)))
    [claimed] = await store.claim_due("telegram")
    await store.mark_unreachable(claimed.id)
    clock.advance(hours=2)
    assert await store.claim_due("telegram") == []  # nor the later one
    counts = await store.scheduled(lambda w, q: q.workshop_counts(7))
    assert counts.unreachable == 1 and counts.reminders_sent == 0
    assert await store.conversation("x", lambda c: c.outbox.reachable_channel("p")) is None
    await store.conversation("p", _join)  # the person writes again: reachable again
    assert await store.conversation("x", lambda c: c.outbox.reachable_channel("p")) == "telegram"


async def test_a_dead_workers_claim_is_taken_over(outboxes):
    store = outboxes.store
    await store.conversation("p", _join)
    await store.conversation("f", lambda conv: conv.outbox.queue(_reminder("r")))
    [lost] = await outboxes.claim_as_dead_worker("telegram")
    [taken] = await store.claim_due("telegram")
    assert taken.id == lost.id and taken.chat_id == "4242"


async def test_cancelled_messages_are_not_sent(outboxes):
    store = outboxes.store
    await store.conversation("p", _join)
    await store.conversation("f", lambda conv: conv.outbox.queue(_reminder("r")))
    assert await store.conversation("p", lambda c: c.outbox.cancel("p", "reminder", 7)) == 1
    assert await store.claim_due("telegram") == []


async def test_forgetting_erases_queued_messages_and_addresses(outboxes):
    store = outboxes.store
    await store.conversation("p", _join)
    await store.conversation("f", lambda conv: conv.outbox.queue(_reminder("r")))
    data = await store.conversation("p", lambda conv: conv.personal_data())
    assert data["outbox"]["chat_addresses_kept"] == ["telegram"]
    assert [m["kind"] for m in data["outbox"]["messages_queued"]] == ["reminder"]
    await store.conversation("p", lambda conv: conv.forget())
    data = await store.conversation("p", lambda conv: conv.personal_data())
    assert data["outbox"] == {"messages_queued": [], "chat_addresses_kept": []}
    if outboxes.kind != "memory":
        left = await store.database.run(lambda c: [c.execute(text(
            f"SELECT count(*) FROM {t} WHERE user_key = 'p'")).scalar()
            for t in ("outbox", "chat_addresses")])
        assert left == [0, 0]


async def test_addresses_of_people_with_nothing_pending_are_erased(outboxes):
    store = outboxes.store
    await store.conversation("p", _join)
    await store.conversation("q", lambda conv: _join(conv, "5"))
    await store.conversation("f", lambda conv: conv.outbox.queue(_reminder("r", user="q")))
    assert await store.erase_idle_addresses() == 1  # p: nothing pending; q: a message
    [claimed] = await store.claim_due("telegram")
    assert claimed.user_key == "q"
    await store.mark_sent(claimed.id)
    assert await store.erase_idle_addresses() == 1


async def test_a_lease_is_held_by_one_worker_at_a_time(outboxes):
    if outboxes.kind == "memory":
        pytest.skip("one process: the lease has no second holder")
    first, clock = outboxes.store, outboxes.clock
    second = await outboxes.open()
    assert await first.lease("housekeeping", 60)
    assert not await second.lease("housekeeping", 60)
    assert await first.lease("housekeeping", 60)  # renewed
    clock.advance(seconds=61)
    assert await second.lease("housekeeping", 60)
    assert not await first.lease("housekeeping", 60)


async def test_a_reminder_queued_recently_is_known(outboxes):
    store, clock = outboxes.store, outboxes.clock
    await store.conversation("f", lambda conv: conv.outbox.queue(_reminder("r")))
    since = clock.now() - timedelta(hours=24)
    ask = lambda user, w: store.scheduled(  # noqa: E731
        lambda _w, q: q.reminded_since(user, w, since))
    assert await ask("p", 7) and not await ask("p", 8) and not await ask("q", 7)
    clock.advance(hours=25)
    since = clock.now() - timedelta(hours=24)
    assert not await ask("p", 7)


async def test_a_closing_date_is_set_and_found_when_due(outboxes):
    store, clock = outboxes.store, outboxes.clock
    workshop = await store.workshops(lambda w: w.create("Atelier", "preatelier", "f"))
    closes = clock.now() + timedelta(days=2)
    changed = await store.workshops(lambda w: w.set_closing(w.get(workshop.id), closes))
    assert changed.closes_at == closes
    assert await store.workshops(lambda w: w.closing_by(clock.now())) == []
    [due] = await store.workshops(lambda w: w.closing_by(clock.now() + timedelta(days=2)))
    assert due.id == workshop.id and due.closes_at == closes
    paris = closes.astimezone(ZoneInfo("Europe/Paris"))  # another zone: the same moment
    await store.workshops(lambda w: w.set_closing(w.get(workshop.id), paris))
    assert (await store.workshops(lambda w: w.get(workshop.id))).closes_at == closes
