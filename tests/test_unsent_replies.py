"""A process stopped between the commit of a message and the sending of its replies:
the platform redelivers the event, and the person gets the replies they never saw,
while the answer still counts once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.config import Settings
from bot.core import Assistant
from bot.messages import Incoming
from storage.models import processed_events, utcnow
from tests.conftest import run_sql


def _tap(assistant: Assistant, text: str, message_id: str) -> Incoming:
    return Incoming("telegram", assistant.user_key("telegram", "77"), "77", text=text,
                    message_id=message_id)


async def _answers(assistant: Assistant) -> int:
    sessions = await assistant.storage.user_sessions(assistant.user_key("telegram", "77"))
    return sum(len(s.answers) for s in sessions)


async def test_replies_never_confirmed_are_sent_again_on_redelivery(database_url: str) -> None:
    first = await Assistant.create(Settings(database_url=database_url, secret="s"))
    try:
        for number, text in enumerate(("/facteurs", "1"), start=1):
            incoming = _tap(first, text, f"u{number}")
            await first.delivered(incoming, await first.handle(incoming))
        replies = await first.handle(_tap(first, "Cantine partagée", "u3"))
        assert "(3/" in replies[-1].text
        # The process dies here: committed, never sent, never confirmed.
    finally:
        await first.close()
    restarted = await Assistant.create(Settings(database_url=database_url, secret="s"))
    try:
        again = await restarted.handle(_tap(restarted, "Cantine partagée", "u3"))
        assert [r.text for r in again] == [r.text for r in replies]
        assert [r.choices for r in again] == [r.choices for r in replies]
        assert [r.actions for r in again] == [r.actions for r in replies]
        assert await _answers(restarted) == 2  # the project name counted once
        await restarted.delivered(_tap(restarted, "Cantine partagée", "u3"), again)
        assert await restarted.handle(_tap(restarted, "Cantine partagée", "u3")) == []
    finally:
        await restarted.close()


async def test_replies_confirmed_as_delivered_are_not_sent_twice(assistant: Assistant) -> None:
    incoming = _tap(assistant, "/facteurs", "v1")
    replies = await assistant.handle(incoming)
    await assistant.delivered(incoming, replies)
    assert await assistant.handle(incoming) == []
    assert await assistant.handle(_tap(assistant, "2", "v2"))  # and the person goes on
    assert await _answers(assistant) == 1


async def test_forgetting_clears_replies_still_waiting_to_be_sent(assistant: Assistant) -> None:
    project = "Jardin partagé des Tilleuls"
    for number, text in enumerate(("/facteurs", "1", project), start=1):
        await assistant.handle(_tap(assistant, text, f"w{number}"))  # never confirmed
    assert await _stored_replies(assistant)
    await assistant.handle(_tap(assistant, "/oublier", "w4"))
    await assistant.handle(_tap(assistant, "oui", "w5"))
    # What stays waiting is only the confirmation of the forgetting itself.
    stored = await _stored_replies(assistant)
    assert all(project not in text and "(2/" not in text for text in stored), stored
    assert await _owners(assistant) == []  # and it names nobody


async def _owners(assistant: Assistant) -> list[str]:
    rows = await run_sql(assistant, lambda c: c.execute(
        select(processed_events.c.owner)).scalars().all())
    return [r for r in rows if r]


async def _stored_replies(assistant: Assistant) -> list[str]:
    rows = await run_sql(assistant, lambda c: c.execute(
        select(processed_events.c.replies)).scalars().all())
    return [str(r) for r in rows if r]


async def test_the_retention_purge_clears_replies_left_unsent_after_a_day(
    assistant: Assistant,
) -> None:
    await assistant.handle(_tap(assistant, "/facteurs", "x1"))  # never confirmed
    await run_sql(assistant, lambda c: c.execute(
        processed_events.update().values(processed_at=utcnow() - timedelta(days=2))))
    await assistant.storage.purge(days=365)
    assert await _stored_replies(assistant) == []
    assert await _owners(assistant) == []
    assert await assistant.handle(_tap(assistant, "/facteurs", "x1")) == []  # still a duplicate


async def test_my_data_lists_replies_still_waiting_to_be_sent(assistant: Assistant) -> None:
    await assistant.handle(_tap(assistant, "/facteurs", "y1"))  # never confirmed
    data = await assistant.storage.conversation(assistant.user_key("telegram", "77"),
                                                lambda conv: conv.personal_data())
    [waiting] = data["replies_not_yet_sent"]
    assert any("(1/" in text for text in waiting["replies"])


async def test_a_reply_that_is_only_a_file_keeps_nothing_waiting(assistant: Assistant) -> None:
    replies = await assistant.handle(_tap(assistant, "/mesdonnees", "z1"))
    assert replies and all(r.file is not None and not r.text for r in replies)
    assert await _owners(assistant) == []  # nothing would ever clear it
