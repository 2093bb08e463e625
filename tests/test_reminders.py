"""Reminders, live counts and closing, as facilitators and participants live them.

Everything runs in process on the real storage (SQLite and PostgreSQL), with the
shipped :class:`bot.testing.TestClock` so that « 24 hours later » takes no time, and
a recording channel in place of a platform (the Telegram path over HTTP is in
``test_outbox_telegram.py``). Two workers share the database where it matters: each
message is sent once.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import String, Text, func, select, text

from bot.config import Settings
from bot.core import Assistant
from bot.housekeeping import Housekeeping
from bot.markup import to_plain
from bot.messages import Incoming, Outgoing
from bot.sender import Delivery, Sender
from bot.testing import TestClock
from bot.texts import texts
from flows.typography import french
from storage.models import Base
from tests.test_workshop_helpers import ANSWERS, CODE, typed_answers

# What people read is typeset (flows.typography), so are the expectations on chat text.
REFUSED = to_plain(texts()("workshop.synthesis.refused"))


class Chat:
    """A person in their private chat with the bot (``telegram``, chat id = user id)."""

    def __init__(self, assistant: Assistant, uid: str) -> None:
        self.assistant, self.uid = assistant, uid
        self.key = assistant.user_key("telegram", uid)
        self.count = 0

    async def say(self, typed: str) -> str:
        self.count += 1
        replies = await self.assistant.handle(Incoming(
            "telegram", self.key, self.uid, text=typed, message_id=f"{self.uid}-{self.count}"))
        return "\n".join(to_plain(r.text) for r in replies)


class Recorder:
    """The platform: records what reaches each chat; some chats blocked the bot."""

    def __init__(self) -> None:
        self.received: dict[str, list[str]] = {}
        self.blocked: set[str] = set()

    async def deliver(self, chat_id: str, replies: list[Outgoing]) -> Delivery:
        if chat_id in self.blocked:
            return Delivery.UNREACHABLE
        self.received.setdefault(chat_id, []).extend(r.text for r in replies)
        return Delivery.SENT


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
async def bots(database_url: str, clock: TestClock) -> AsyncIterator[list[Assistant]]:
    """Two workers on one database (two storages, two liveness locks), one clock."""
    settings = Settings(database_url=database_url, secret="test-secret")
    made = [await Assistant.create(settings, clock=clock) for _ in range(2)]
    try:
        yield made
    finally:
        for bot in made:
            await bot.close()


async def _workshop(bot: Assistant) -> tuple[Chat, str]:
    facilitator = Chat(bot, "100")
    await facilitator.say("/atelier Fresque de l'engagement local, Crest")
    found = CODE.search(await facilitator.say("1"))
    assert found
    return facilitator, found.group(1)


async def _finish(person: Chat, code: str) -> None:
    await person.say(f"/rejoindre {code}")
    for line in typed_answers(ANSWERS[0]):
        reply = await person.say(line)
    assert "Merci" in reply


def _senders(bots: list[Assistant], platform: Recorder) -> list[Sender]:
    return [Sender(bot.storage, "telegram", platform.deliver) for bot in bots]


async def _send_all(senders: list[Sender]) -> None:
    await asyncio.gather(*(s.once() for s in senders))


async def test_counts_reminders_once_and_silence(bots, clock):
    bot = bots[0]
    facilitator, code = await _workshop(bot)
    done, waiting, quiet = Chat(bot, "201"), Chat(bot, "202"), Chat(bot, "203")
    await _finish(done, code)
    await waiting.say(f"/rejoindre {code}")
    await quiet.say(f"/rejoindre {code}")
    status = await facilitator.say(f"/etat {code}")
    assert french("Participants : 3") in status and french("Ont terminé : 1") in status
    assert french("En cours : 2") in status and french("Relances envoyées : 0") in status
    assert "Crest" not in status.split("\n", 1)[1]  # counts, never an answer
    assert await Chat(bot, "666").say(f"/etat {code}") == REFUSED
    assert await Chat(bot, "667").say("/etat ZZZ-ZZZ-ZZZ") == REFUSED

    assert "C'est noté" in await quiet.say(f"/silence {code}")
    queued = await facilitator.say(f"/relancer {code}")
    assert "1 participant(s)" in queued, queued
    platform = Recorder()
    senders = _senders(bots, platform)
    await _send_all(senders)
    await _send_all(senders)
    [reminder] = platform.received["202"]
    assert "Fresque de l'engagement local, Crest" in reminder
    assert f"/rejoindre {code}" in reminder and f"/silence {code}" in reminder
    assert set(platform.received) == {"202"}  # not the finished one, not the silenced one

    again = await facilitator.say(f"/relancer {code}")
    assert again == to_plain(texts()("outbox.remind.already"))
    await _send_all(senders)
    assert len(platform.received["202"]) == 1
    assert french("Relances envoyées : 1") in await facilitator.say(f"/etat {code}")

    clock.advance(hours=25)  # a day later a new round is allowed
    assert "1 participant(s)" in await facilitator.say(f"/relancer {code}")
    assert "C'est noté" in await waiting.say(f"/silence {code}")  # honoured at once
    await _send_all(senders)
    assert len(platform.received["202"]) == 1


async def test_a_co_facilitator_sees_the_counts_but_only_the_facilitator_reminds(bots):
    bot = bots[0]
    facilitator, code = await _workshop(bot)
    invite = await facilitator.say(f"/cofacilitateur {code}")
    token = re.search(r"/cofacilitateur (\S+)$", invite).group(1)
    helper = Chat(bot, "300")
    await helper.say(f"/cofacilitateur {token}")
    assert french("Participants : 0") in await helper.say(f"/etat {code}")
    assert "Seule la personne qui a créé" in await helper.say(f"/relancer {code}")


async def test_a_person_who_blocked_the_bot_is_counted_unreachable(bots):
    bot = bots[0]
    facilitator, code = await _workshop(bot)
    blocked = Chat(bot, "401")
    await blocked.say(f"/rejoindre {code}")
    await facilitator.say(f"/relancer {code}")
    platform = Recorder()
    platform.blocked.add("401")
    sender = Sender(bot.storage, "telegram", platform.deliver)
    assert await sender.once() == 1
    assert await sender.once() == 0  # never retried
    status = await facilitator.say(f"/etat {code}")
    assert french("injoignables (ils ont bloqué Coopbot) : 1") in status, status


async def test_automatic_reminder_and_closing_with_two_workers(bots, clock, database_url):
    bot = bots[0]
    _facilitator, code = await _workshop(bot)
    closes = clock.now() + timedelta(days=3)
    workshop = await bot.storage.workshops(lambda store: store.find(code))
    # A closing date, as ``coopbot workshop create --closes`` records it.
    await bot.storage.database.run(lambda c: c.execute(text(
        "UPDATE workshops SET closes_at = :at WHERE id = :id"),
        {"at": closes, "id": workshop.id}))
    done, waiting = Chat(bot, "501"), Chat(bot, "502")
    await _finish(done, code)
    await waiting.say(f"/rejoindre {code}")
    platform = Recorder()
    senders = _senders(bots, platform)
    chores = [Housekeeping(b.storage, b.content.texts, 365) for b in bots]

    async def pass_of_both() -> None:
        await asyncio.gather(*(h.once() for h in chores))
        await _send_all(senders)

    await pass_of_both()
    assert platform.received == {}  # three days before: nothing yet
    clock.advance(days=2, hours=1)  # 23 hours before closing
    for _ in range(3):
        await pass_of_both()
    assert list(platform.received) == ["502"] and len(platform.received["502"]) == 1
    assert "Vous pouvez répondre jusqu'au" in platform.received["502"][0]

    clock.advance(hours=23, minutes=1)  # closing time
    for _ in range(3):
        await pass_of_both()
    [notice] = platform.received["100"]
    assert "est clos" in notice and "Participants : 2" in notice
    assert "Ont terminé : 1" in notice and f"/synthese {code}" in notice
    assert "fermé" in await Chat(bot, "503").say(f"/rejoindre {code}")

    # Restarted workers find nothing more to send.
    settings = Settings(database_url=database_url, secret="test-secret")
    fresh = [await Assistant.create(settings, clock=clock) for _ in range(2)]
    try:
        for h in [Housekeeping(b.storage, b.content.texts, 365) for b in fresh]:
            await h.once()
        await _send_all(_senders(fresh, platform))
    finally:
        for b in fresh:
            await b.close()
    assert {k: len(v) for k, v in platform.received.items()} == {"502": 1, "100": 1}


async def test_someone_who_joins_after_the_automatic_reminder_is_not_reminded_at_once(
        bots, clock):
    """The automatic reminder goes once, 24 hours before closing, to those who had joined
    by then: a person who joins 10 hours before closing is not told 30 seconds later
    that they have not finished."""
    bot = bots[0]
    _facilitator, code = await _workshop(bot)
    workshop = await bot.storage.workshops(lambda store: store.find(code))
    await bot.storage.database.run(lambda c: c.execute(text(
        "UPDATE workshops SET closes_at = :at WHERE id = :id"),
        {"at": clock.now() + timedelta(days=2), "id": workshop.id}))
    early = Chat(bot, "901")
    await early.say(f"/rejoindre {code}")
    platform, chores = Recorder(), Housekeeping(bot.storage, bot.content.texts, 365)
    sender = Sender(bot.storage, "telegram", platform.deliver)
    clock.advance(days=1, hours=1)  # 23 hours before closing: the automatic reminder
    await chores.once()
    await sender.once()
    assert list(platform.received) == ["901"]
    clock.advance(hours=13)  # 10 hours before closing, someone new starts
    late = Chat(bot, "902")
    await late.say(f"/rejoindre {code}")
    clock.advance(seconds=30)
    await chores.once()
    await sender.once()
    assert "902" not in platform.received
    assert len(platform.received["901"]) == 1


async def test_forgetting_erases_the_address_and_pending_messages(bots, database_url):
    bot = bots[0]
    facilitator, code = await _workshop(bot)
    person = Chat(bot, "601")
    await person.say(f"/rejoindre {code}")
    await facilitator.say(f"/relancer {code}")
    data = await bot.handle(Incoming("telegram", person.key, "601", text="/mesdonnees"))
    report = json.loads(data[0].file.content)
    assert report["outbox"]["chat_addresses_kept"] == ["telegram"]
    assert [m["kind"] for m in report["outbox"]["messages_queued"]] == ["reminder"]
    assert "doit encore vous envoyer (relances, clôture d'un atelier) : 1" in report["pending"]
    assert "/silence" in report["pending"]
    assert "601" not in data[0].file.content.decode()  # the address is never shown in clear
    await person.say("/oublier")
    await person.say("oui")

    def left(c):
        """Every text column of every table of Coopbot's schema, searched for the key."""
        found = {}
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, String | Text):
                    n = c.execute(select(func.count()).select_from(table)
                                  .where(column == person.key)).scalar()
                    found[f"{table.name}.{column.name}"] = n
        return found

    found = await bot.storage.database.run(left)
    assert found["outbox.user_key"] == 0 and found["chat_addresses.user_key"] == 0
    assert {where: n for where, n in found.items() if n} == {}


async def test_an_address_is_erased_once_nothing_is_pending(bots):
    bot = bots[0]
    _facilitator, code = await _workshop(bot)
    person = Chat(bot, "701")
    await _finish(person, code)
    await Housekeeping(bot.storage, bot.content.texts, 365).once()
    ask = bot.storage.scheduled
    assert await ask(lambda w, q: q.reachable_channel(person.key)) is None


async def test_the_facilitator_sets_a_closing_date_in_chat(bots, clock):
    bot = bots[0]
    facilitator, code = await _workshop(bot)
    assert "JJ/MM/AAAA" in await facilitator.say(f"/cloture {code} demain")
    assert "déjà passée" in await facilitator.say(f"/cloture {code} 01/01/2020")
    assert await Chat(bot, "801").say(f"/cloture {code} 12/12/2026") == REFUSED
    done = await facilitator.say(f"/cloture {code} 5/12/2026 18:00")
    assert "5 décembre 2026 à 18 h 00 (heure de Paris)" in done, done
    assert french("Clôture : 5 décembre 2026 à 18 h 00") in await facilitator.say(f"/etat {code}")
    await Housekeeping(bot.storage, bot.content.texts, 365).once()  # address kept meanwhile
    clock.set(clock.now().replace(day=5, hour=17, minute=1))  # 18:01 in Paris
    platform = Recorder()
    await Housekeeping(bot.storage, bot.content.texts, 365).once()
    await Sender(bot.storage, "telegram", platform.deliver).once()
    [notice] = platform.received["100"]
    assert "est clos" in notice and "Participants : 0" in notice


async def test_finishing_before_the_reminder_leaves_cancels_it(bots):
    bot = bots[0]
    facilitator, code = await _workshop(bot)
    person = Chat(bot, "901")
    await person.say(f"/rejoindre {code}")
    assert "1 participant(s)" in await facilitator.say(f"/relancer {code}")
    for line in typed_answers(ANSWERS[0]):  # finished before any sender ran
        await person.say(line)
    platform = Recorder()
    await Sender(bot.storage, "telegram", platform.deliver).once()
    assert platform.received == {}


async def test_a_group_chat_is_never_kept_as_an_address(bots):
    bot = bots[0]
    _facilitator, code = await _workshop(bot)
    key = bot.user_key("telegram", "951")
    await bot.handle(Incoming("telegram", key, "-100951", text=f"/rejoindre {code}",
                              message_id="g1", private=False))
    reachable = await bot.storage.scheduled(lambda w, q: q.reachable_channel(key))
    assert reachable is None


def test_closing_dates_are_read_in_paris_time():
    from datetime import UTC, datetime

    from bot.outbox_routes import parse_closing

    assert parse_closing("12/03/2027 18:00") == datetime(2027, 3, 12, 17, 0, tzinfo=UTC)
    assert parse_closing("12/07/2027") == datetime(2027, 7, 12, 21, 59, tzinfo=UTC)  # 23:59
    assert parse_closing("2027-03-12") == datetime(2027, 3, 12, 22, 59, tzinfo=UTC)
    assert parse_closing(" 1/3/2027   9h30 ") == datetime(2027, 3, 1, 8, 30, tzinfo=UTC)
    for wrong in ("31/02/2027", "demain", "12/13/2027", "12/03/27", "25:00"):
        assert parse_closing(wrong) is None, wrong
