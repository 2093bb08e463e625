"""Who can read a workshop: its facilitator and co-facilitators, nobody else, by any command.

A refusal reads the same whether the code exists or not. Join codes are long
enough not to be guessed, and wrong codes are braked. Chat tests run on SQLite
and PostgreSQL; the command-line tests run ``coopbot`` as a real subprocess.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

from bot.texts import texts
from storage.workshop_codes import (
    ALPHABET,
    CODE_LENGTH,
    WRONG_CODE_LIMIT,
    display_code,
    new_code,
    normalise_code,
)
from tests.conftest import ConsoleUser
from tests.test_workshop_helpers import ANSWERS, create_workshop, run_workshop, synthesis_json

REFUSED = texts()("workshop.synthesis.refused")


def coopbot(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True,
                          timeout=120, check=False)


def test_codes_have_40_bits_and_no_look_alikes():
    assert CODE_LENGTH * math.log2(len(ALPHABET)) >= 40
    assert not set("0O1IL") & set(ALPHABET)
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    code = next(iter(codes))
    shown = display_code(code)
    assert len(shown) == 11 and shown.count("-") == 2
    for typed in (shown, shown.lower(), code, f" {shown[:3]} {shown[4:7]} {shown[8:]} "):
        assert normalise_code(typed) == code
    assert normalise_code("K7Q-M3X-PW0") is None and normalise_code("ABC") is None


async def test_a_stranger_gets_nothing_and_cannot_tell_if_the_code_exists(assistant):
    workshop = await run_workshop(assistant, ANSWERS[:3])
    eve = ConsoleUser(assistant, "eve")
    real = await eve.say(f"/synthese {workshop.code}")
    fake = await eve.say("/synthese ZZZ-ZZZ-ZZZ")
    assert [r.text for r in real] == [r.text for r in fake] == [REFUSED]
    for fmt in ("md", "html", "csv", "json"):
        replies = await eve.say(f"/synthese {workshop.code} {fmt}")
        assert len(replies) == 1 and not replies[0].file and not replies[0].image
        # Refused, or braked once the wrong codes add up: never the workshop.
        assert replies[0].text == REFUSED or "Trop de codes erronés" in replies[0].text
        assert "Fresque" not in replies[0].text
    assert await synthesis_json(eve, workshop.code) is None


async def test_a_participant_sees_only_their_own_answers(assistant):
    workshop = await run_workshop(assistant, ANSWERS[:3])
    elu1 = workshop.people["elu1"]
    assert await synthesis_json(elu1, workshop.code) is None
    replies = await elu1.say("/export json")
    exported = replies[0].file.content.decode()
    assert ANSWERS[0].obstacle in exported
    for other in ANSWERS[1:3]:
        assert other.obstacle not in exported and other.asks not in exported
    assert "Fresque" not in exported  # not even the workshop's title leaks into /export


async def test_cofacilitator_invitation_is_personal_and_single_use(assistant):
    workshop = await run_workshop(assistant, ANSWERS[:2])
    await workshop.facilitator.say(f"/cofacilitateur {workshop.code}")
    invitation = workshop.facilitator.last[-1].text
    token = invitation.split("/cofacilitateur ")[1].split()[0]
    claire = ConsoleUser(assistant, "claire")
    assert await synthesis_json(claire, workshop.code) is None
    await claire.say(f"/cofacilitateur {token}")
    assert "co-animez" in claire.text()
    data = await synthesis_json(claire, workshop.code)
    assert data is not None and data["participants"] == 2
    mallory = ConsoleUser(assistant, "mallory")
    await mallory.say(f"/cofacilitateur {token}")
    assert "ne me permet pas" in mallory.text()
    await mallory.say(f"/cofacilitateur {workshop.code}")  # the join code gives no access
    assert "ne me permet pas" in mallory.text()
    assert await synthesis_json(mallory, workshop.code) is None


async def test_wrong_codes_are_braked_even_for_the_right_one_afterwards(assistant):
    workshop = await create_workshop(assistant)
    guesser = ConsoleUser(assistant, "guesser")
    for i in range(WRONG_CODE_LIMIT):
        await guesser.say(f"/rejoindre ABC-DEF-GH{'23456'[i]}")
        assert "Je ne trouve aucun atelier" in guesser.text()
    await guesser.say(f"/rejoindre {workshop.code}")
    assert "Trop de codes erronés" in guesser.text() and "minute" in guesser.text()
    await guesser.say(f"/synthese {workshop.code}")
    assert "Trop de codes erronés" in guesser.text()
    other = ConsoleUser(assistant, "someone-else")  # the brake is per person
    await other.say(f"/rejoindre {workshop.code}")
    assert "(1/" in other.text()


async def test_a_closed_workshop_takes_no_new_answers(assistant, database_url):
    workshop = await create_workshop(assistant)
    result = coopbot("workshop", "close", workshop.code, "--facilitator", "anim",
                     "--db", database_url)
    assert result.returncode == 0, result.stderr.decode()
    late = ConsoleUser(assistant, "late")
    await late.say(f"/rejoindre {workshop.code}")
    assert "fermé" in late.text() and "(1/" not in late.text()


async def test_cli_summary_for_the_facilitator_only(assistant, database_url, tmp_path):
    workshop = await run_workshop(assistant, ANSWERS[:5])
    ok = coopbot("workshop", "summary", workshop.code, "--facilitator", "anim",
                 "--format", "json", "--db", database_url)
    assert ok.returncode == 0, ok.stderr.decode()
    data = json.loads(ok.stdout)
    assert {"code", "title", "participants", "by_category", "questions"} <= set(data)
    # 3 élus + 2 agents: the agents merged with the élus would be the whole room.
    assert data["participants"] == 5 and data["by_category"] == {}

    refusals = []
    for code, name in ((workshop.code, "elu1"), (workshop.code, "eve"),
                       ("ZZZ-ZZZ-ZZZ", "anim"), ("pas un code", "eve")):
        for fmt in ("md", "html", "csv", "json"):
            out = tmp_path / f"x.{fmt}"
            result = coopbot("workshop", "summary", code, "--facilitator", name, "--format",
                             fmt, "-o", str(out), "--db", database_url)
            assert result.returncode != 0 and result.stdout == b"" and not out.exists()
            refusals.append(result.stderr)
    assert len(set(refusals)) == 1  # one message, whatever the reason
    assert b"Fresque" not in refusals[0]


async def test_cli_create_then_chat_join_with_the_same_names(assistant, database_url):
    result = coopbot("workshop", "create", "--title", "Atelier <b>PAT</b>", "--facilitator",
                     "anim3", "--json", "--db", database_url)
    assert result.returncode == 0, result.stderr.decode()
    code = json.loads(result.stdout)["code"]
    assert normalise_code(code) is not None
    text = coopbot("workshop", "create", "--title", "Autre", "--facilitator", "anim3",
                   "--db", database_url).stdout.decode()
    assert "/rejoindre " in text and "/synthese " in text
    joiner = ConsoleUser(assistant, "joiner")
    await joiner.say(f"/rejoindre {code}")
    assert "Atelier <b>PAT</b>" in joiner.text()
    await joiner.say("4")
    data = await synthesis_json(ConsoleUser(assistant, "anim3"), code)
    assert data["participants"] == 1 and data["by_category"] == {}
