"""Participants' rights: the notice before a first answer, /mesdonnees, /oublier, retention.

Forgetting is checked the hard way: every row of every table is read back and
searched for the person's key and for a sentence only they typed (JSON columns
such as ``users.state`` included). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select

from bot.core import Assistant
from bot.texts import texts
from storage.models import Base, users, utcnow, workshops
from tests.conftest import ConsoleUser, run_sql
from tests.test_workshop_helpers import (
    ANSWERS,
    create_workshop,
    run_workshop,
    synthesis_json,
    typed_answers,
)

NOTICE_TITLE = "Vos données"


async def every_row(assistant: Assistant) -> str:
    """All stored values of all tables, as one searchable text."""
    def read(c: object) -> str:
        chunks: list[str] = []
        for table in Base.metadata.sorted_tables:
            for row in c.execute(select(table)).all():  # type: ignore[attr-defined]
                values = json.dumps(list(row), default=str, ensure_ascii=False)
                chunks.append(f"{table.name}: {values}")
        return "\n".join(chunks)

    return await run_sql(assistant, read)


async def test_the_notice_comes_once_before_the_first_question(alice):
    replies = await alice.say("/facteurs")
    texts = [r.text for r in replies]
    notice = next(i for i, t in enumerate(texts) if NOTICE_TITLE in t)
    question = next(i for i, t in enumerate(texts) if "(1/25)" in t)
    assert notice < question
    notice_text = texts[notice]
    for needed in ("/mesdonnees", "/oublier", "12 mois", "pseudonyme"):
        assert needed in notice_text
    await alice.say("/cadrage")
    assert NOTICE_TITLE not in alice.text()


async def test_the_notice_is_shown_when_joining_a_workshop(assistant):
    workshop = await create_workshop(assistant)
    bob = ConsoleUser(assistant, "bob")
    replies = await bob.say(f"/rejoindre {workshop.code}")
    assert NOTICE_TITLE in replies[0].text
    assert "Fresque" in bob.text() and "(1/" in replies[-1].text


async def test_mesdonnees_sends_everything_as_a_json_file(assistant):
    workshop = await run_workshop(assistant, ANSWERS[:1])
    elu1 = workshop.people["elu1"]
    replies = await elu1.say("/mesdonnees")
    [file] = [r.file for r in replies if r.file]
    assert file.mime_type == "application/json" and file.filename.endswith(".json")
    data = json.loads(file.content)
    assert data["user"]["key"] == elu1.key
    [session] = data["sessions"]
    assert session["workshop"]["code"] == workshop.code
    values = {a["step"]: a["value"] for a in session["answers"]}
    assert values["obstacle"] == ANSWERS[0].obstacle and values["categorie"] == "elu"
    assert data["retention_days"] == 365

    anim = await workshop.facilitator.say("/mesdonnees")
    mine = json.loads(anim[0].file.content)
    assert [w["code"] for w in mine["workshops_facilitated"]] == [workshop.code]
    assert ANSWERS[0].obstacle not in anim[0].file.content.decode()  # others' answers: no


async def test_oublier_asks_first_and_anything_but_oui_keeps_everything(assistant):
    workshop = await run_workshop(assistant, ANSWERS[:2])
    elu1 = workshop.people["elu1"]
    await elu1.say("/oublier")
    assert "oui" in elu1.text() and "définitif" in elu1.text()
    await elu1.say("non")
    assert elu1.text() == texts()("privacy.forget.kept")
    assert (await synthesis_json(workshop.facilitator, workshop.code))["participants"] == 2


async def test_oublier_oui_removes_the_person_everywhere(assistant):
    workshop = await run_workshop(assistant, ANSWERS[:4])
    leaver = workshop.people["elu2"]
    marker = ANSWERS[1].commits
    await leaver.say("/mesdonnees")  # leaves traces in state and files: still to be erased
    await leaver.say("/rejoindre ZZZ-ZZZ-ZZZ")  # and a wrong code
    before = await every_row(assistant)
    assert leaver.key in before and marker in before

    await leaver.say("/oublier")
    await leaver.say("oui")
    assert leaver.text() == texts()("privacy.forget.done")

    after = await every_row(assistant)
    assert leaver.key not in after
    assert marker not in after and ANSWERS[1].obstacle not in after
    data = await synthesis_json(workshop.facilitator, workshop.code)
    assert data["participants"] == 3 and data["by_category"] == {}  # 2 + 1: not shown
    assert marker not in json.dumps(data, ensure_ascii=False)
    # The others are untouched.
    assert ANSWERS[0].commits in after and workshop.people["elu1"].key in after


async def test_a_forgotten_facilitator_hands_over_or_the_workshop_goes(assistant):
    shared = await run_workshop(assistant, ANSWERS[:2])
    await shared.facilitator.say(f"/cofacilitateur {shared.code}")
    token = shared.facilitator.last[-1].text.split("/cofacilitateur ")[1].split()[0]
    heir = ConsoleUser(assistant, "heir")
    await heir.say(f"/cofacilitateur {token}")
    await shared.facilitator.say("/oublier")
    assert "co-anime" in shared.facilitator.text()
    await shared.facilitator.say("oui")
    assert shared.facilitator.key not in await every_row(assistant)
    data = await synthesis_json(heir, shared.code)
    assert data is not None and data["participants"] == 2

    lonely = ConsoleUser(assistant, "lonely")
    await lonely.say("/atelier Atelier solitaire")
    await lonely.say("1")
    code = lonely.last[0].text.split("**")[1]
    joiner = ConsoleUser(assistant, "joiner")
    await joiner.say(f"/rejoindre {code}")
    for line in typed_answers(ANSWERS[0])[:3]:
        await joiner.say(line)
    await lonely.say("/oublier")
    await lonely.say("oui")
    titles = await run_sql(assistant, lambda c: c.execute(
        select(workshops.c.title)).scalars().all())
    assert "Atelier solitaire" not in titles
    records = await assistant.storage.user_sessions(joiner.key)
    assert len(records) == 1 and records[0].workshop_id is None  # theirs, now unattached
    assert set(records[0].answers) == {"categorie", "attentes"}


async def test_purge_removes_people_inactive_past_the_retention(assistant, database_url):
    workshop = await run_workshop(assistant, ANSWERS[:3])
    old = workshop.people["elu1"]
    await run_sql(assistant, lambda c: c.execute(
        users.update().where(users.c.key == old.key)
        .values(last_seen_at=utcnow() - timedelta(days=400))))
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "purge", "--json", "--db", database_url],
        capture_output=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    counts = json.loads(result.stdout)
    assert counts["days"] == 365 and counts["users"] == 1 and counts["workshops"] == 0
    rows = await every_row(assistant)
    assert old.key not in rows and ANSWERS[0].obstacle not in rows
    data = await synthesis_json(workshop.facilitator, workshop.code)
    assert data["participants"] == 2

    await run_sql(assistant, lambda c: c.execute(
        workshops.update().values(created_at=utcnow() - timedelta(days=40))))
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "purge", "--days", "30", "--db", database_url],
        capture_output=True, timeout=120, check=False,
    )
    assert result.returncode == 0 and "1 atelier" in result.stdout.decode()
    assert await synthesis_json(workshop.facilitator, workshop.code) is None


async def test_oublier_in_the_middle_of_a_flow(alice, assistant):
    await alice.say("/facteurs")
    await alice.say("2")
    await alice.say("/oublier")
    await alice.say("oui")  # the confirmation, not an answer to the open question
    assert alice.text() == texts()("privacy.forget.done")
    assert not await assistant.storage.user_exists(alice.key)
    await alice.say("/facteurs")  # starts again from zero, notice included
    assert NOTICE_TITLE in alice.text() and "(1/25)" in alice.text()
