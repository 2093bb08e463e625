"""A reminder reaches the participant's own Matrix room, encrypted as the room is.

Two people who encrypt like Element (tests/e2ee_client): alice creates a workshop in
her encrypted direct chat with the bot, bob joins in his and stops after the first
question; alice's ``/relancer`` puts a reminder in bob's room, readable by bob's
device only (an encrypted event his client decrypted), and nowhere else. In a room
without encryption (a plain client), the reminder comes in clear, as the replies do.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2ee_fixture import E2EEPerson
from tests.synapse_fixture import MatrixUser, SynapseServer
from tests.test_matrix_e2e import BOT, BotProcess, ask, question_in
from tests.test_matrix_e2ee import Chat, from_bot, question, wait_log
from tests.test_workshop_helpers import CODE

pytestmark = [pytest.mark.synapse, pytest.mark.node, pytest.mark.slow]
SPACES = re.compile(r"[\u00a0\u202f]")


def _body(event: dict[str, Any]) -> str:
    return SPACES.sub(" ", event["content"].get("body", ""))


async def _direct_chat(person: E2EEPerson, bot: BotProcess) -> Chat:
    dm = await person.call("create_dm", invite="@coopbot:localhost")
    room = dm["room_id"]
    await person.wait_for(room, lambda ev: [e for e in from_bot(ev)
                                            if e["type"] == "m.room.message"],
                          what=f"a readable greeting\n{bot.log()}")
    return Chat(person, room)


async def test_a_reminder_reaches_the_participants_encrypted_room(
    synapse: SynapseServer, tmp_path: Path, e2ee_person: Any
) -> None:
    bot = BotProcess(synapse, tmp_path)
    try:
        alice: E2EEPerson = await e2ee_person(synapse.alice)
        bob: E2EEPerson = await e2ee_person(synapse.bob)
        bot.start()
        await wait_log(bot, "Matrix: connected")
        facilitator = await _direct_chat(alice, bot)
        participant = await _direct_chat(bob, bot)

        await facilitator.say("/atelier Fresque de l'engagement local, Crest", bool, "ask flow")
        _, replies = await facilitator.say(
            "1", lambda r: any(CODE.search(_body(e)) for e in r), "the workshop code")
        code = next(CODE.search(_body(e)) for e in replies if CODE.search(_body(e))).group(1)
        await participant.say(f"/rejoindre {code}", question, "the first question")

        _, replies = await facilitator.say(
            f"/relancer {code}", lambda r: any("participant(s)" in _body(e) for e in r),
            "the count of reminders")
        assert any("1 participant(s)" in _body(e) for e in replies), replies

        def reminder(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [e for e in from_bot(events) if "sans le terminer" in _body(e)]

        [got] = await bob.wait_for(participant.room, reminder,
                                   what=f"the reminder in bob's room\n{bot.log()}")
        assert got["encrypted"], "the reminder is encrypted, as the room is"
        assert f"/rejoindre {code}" in _body(got) and f"/silence {code}" in _body(got)
        assert "Crest" in _body(got)
        alice_events = await alice.call("events", room_id=facilitator.room)
        assert not reminder(alice_events)
        bot.stop()
    finally:
        bot.kill()
    assert "Traceback" not in bot.log(), bot.log()[-3000:]


async def test_a_reminder_in_a_room_without_encryption_comes_in_clear(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    bot = BotProcess(synapse, tmp_path)
    try:
        async with MatrixUser(synapse, synapse.alice) as alice:
            room = await alice.create_room([BOT])
            bot.start()
            await alice.wait_for(lambda: alice.messages_from(room, BOT),
                                 what=f"a greeting\n{bot.log()}")
            await ask(alice, room, "/atelier Atelier des pairs, Die", bool, "ask the flow")
            answers = await ask(alice, room, "1",
                                lambda got: any(CODE.search(a["body"]) for a in got), "the code")
            code = next(CODE.search(a["body"]) for a in answers if CODE.search(a["body"]))
            # The facilitator tries the questionnaire, stops after the first question.
            await ask(alice, room, f"/rejoindre {code.group(1)}", question_in, "question 1")
            await ask(alice, room, f"/relancer {code.group(1)}",
                      lambda got: any("participant(s)" in _clear(a) for a in got), "the count")
            reminders = await alice.wait_for(lambda: [
                e for e in alice.messages_from(room, BOT)
                if "sans le terminer" in _clear(e["content"])], what=f"the reminder\n{bot.log()}")
            assert len(reminders) == 1 and reminders[0]["type"] == "m.room.message"
            assert f"/silence {code.group(1)}" in _clear(reminders[0]["content"])
        bot.stop()
    finally:
        bot.kill()
    assert "Traceback" not in bot.log(), bot.log()[-3000:]


def _clear(content: dict[str, Any]) -> str:
    return SPACES.sub(" ", content.get("body", ""))
