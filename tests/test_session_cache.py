"""The answers a process keeps between a person's messages never hide another
worker's writes, a rolled-back message or « /oublier »."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.core import Assistant
from flows.summaries import SummaryInput, summarise
from tests.conftest import ConsoleUser


@pytest.fixture
async def two_workers(database_url: str) -> AsyncIterator[tuple[Assistant, Assistant]]:
    """Two assistants on one database, as two worker processes behind a load balancer."""
    first = await Assistant.create(Settings(database_url=database_url, secret="s"))
    second = await Assistant.create(Settings(database_url=database_url, secret="s"))
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def _stored(assistant: Assistant, key: str) -> tuple[dict[str, object], dict[str, object]]:
    """The answers in the database, and the summary the person was shown and given."""
    session = (await assistant.storage.user_sessions(key, "facteurs"))[-1]
    return {a.step: a.value for a in session.answers}, session.summary or {}


async def _finish(person: ConsoleUser, mark: str) -> None:
    for _ in range(30):
        if "c'est terminé" in person.text():
            return
        await person.say(mark)
    raise AssertionError(f"questionnaire not completed: {person.text()}")


def _summary_of(assistant: Assistant, answers: dict[str, object]) -> dict[str, object]:
    flow = assistant.flows["facteurs"]
    return summarise(SummaryInput(flow=flow, answers=answers, comments={}))


async def test_a_mark_withdrawn_on_another_worker_stays_withdrawn(
    two_workers: tuple[Assistant, Assistant],
) -> None:
    a, b = two_workers
    on_a, on_b = ConsoleUser(a, "camille"), ConsoleUser(b, "camille")
    await on_a.say("/facteurs")
    await on_a.say("1")  # role
    await on_a.say("Tiers-lieu de Crest")  # project
    await on_a.say("3")  # first mark: now held in worker a's memory
    assert "(4/" in on_a.text()
    await on_b.say("/retour")  # worker b withdraws that mark…
    await on_b.say("/passer")  # …and skips the question
    assert "(4/" in on_b.text()
    await on_a.say("4")
    assert "(5/" in on_a.text()
    await _finish(on_a, "2")
    answers, summary = await _stored(a, on_a.key)
    first_mark = a.flows["facteurs"].steps[2].id
    assert first_mark not in answers
    assert summary == _summary_of(a, answers)  # the summary shown counts no withdrawn mark


async def test_marks_given_on_another_worker_count_in_the_summary(
    two_workers: tuple[Assistant, Assistant],
) -> None:
    a, b = two_workers
    on_a, on_b = ConsoleUser(a, "dominique"), ConsoleUser(b, "dominique")
    await on_a.say("/facteurs")
    await on_a.say("2")
    await on_a.say("Cantine partagée")
    for mark in ("1", "1", "1"):
        await on_b.say(mark)
    await on_a.say("4")
    assert "(7/" in on_a.text()
    await _finish(on_a, "4")
    answers, summary = await _stored(a, on_a.key)
    assert len(answers) == 25
    assert sorted(answers.values(), key=str).count(1) >= 3
    assert summary == _summary_of(a, answers)


async def test_a_failed_message_leaves_nothing_remembered(
    assistant: Assistant, monkeypatch: pytest.MonkeyPatch,
) -> None:
    person = ConsoleUser(assistant, "eden")
    await person.say("/facteurs")
    await person.say("1")
    await person.say("Épicerie solidaire")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("rendering failed")

    with monkeypatch.context() as patch:
        patch.setattr("bot.flow_turns.question_message", broken)
        await person.say("3")  # rolled back: the person is told to try again
    assert "renvoyez votre message" in person.text()
    await person.say("2")
    assert "(4/" in person.text()  # the same question again, answered now
    first_mark = assistant.flows["facteurs"].steps[2].id
    assert (await _stored(assistant, person.key))[0][first_mark] == 2


async def test_forgetting_empties_the_memory_of_the_process(assistant: Assistant) -> None:
    person = ConsoleUser(assistant, "farid")
    await person.say("/facteurs")
    await person.say("1")
    await person.say("Ressourcerie")
    assert len(assistant.storage.session_cache) == 1
    await person.say("/oublier")
    await person.say("oui")
    assert len(assistant.storage.session_cache) == 0
