"""A workshop of twelve participants in four categories, run through the console channel.

The expected figures are computed here from what the participants typed
(``tests.test_workshop_helpers.ANSWERS``), not from the code under test. Runs on
SQLite and, when COOPBOT_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from tests.test_workshop_helpers import (
    ANSWERS,
    FACTORS,
    FAMILY,
    HOSTILE,
    create_workshop,
    run_workshop,
    synthesis_json,
)


def one_decimal(values: list[int]) -> float | None:
    if not values:
        return None
    mean = Fraction(sum(values), len(values))
    exact = Decimal(mean.numerator) / Decimal(mean.denominator)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


async def test_twelve_participants_four_categories(assistant):
    workshop = await run_workshop(assistant)
    data = await synthesis_json(workshop.facilitator, workshop.code)
    assert data is not None

    assert data["code"] == workshop.code
    assert data["title"] == "Fresque de l'engagement local, Crest"
    assert data["participants"] == 12 and data["completed"] == 12
    # Two citoyens are too few to show apart, and so would be « Autres catégories » with
    # them alone: the smallest category shown (acteur_eco, 3, last of the ties) joins them.
    assert data["by_category"] == {"elu": 3, "agent": 4, "autres_categories": 5}
    assert list(data["by_category"]) == ["elu", "agent", "autres_categories"]
    room = {"elu": {"elu"}, "agent": {"agent"}, "autres_categories": {"acteur_eco", "citoyen"}}
    # Factor means are grouped by who rated: 2 élus and 1 citoyen rated, 3 agents, 3 ESS.
    raters = {"agent": {"agent"}, "acteur_eco": {"acteur_eco"},
              "autres_categories": {"elu", "citoyen"}}

    questions = {q["step"]: q for q in data["questions"]}
    relation = {d["value"]: d["count"] for d in questions["relation"]["distribution"]}
    expected = Counter(p.relation for p in ANSWERS)
    assert relation == {v: expected.get(v, 0) for v in relation}
    assert sum(relation.values()) == 12
    prestation = next(d for d in questions["relation"]["distribution"]
                      if d["value"] == "prestation")
    assert prestation["percent"] == 33  # 4 of 12, rounded
    assert questions["structure"]["answered"] == 0  # everybody skipped it
    yes = next(d for d in questions["facteurs_ok"]["distribution"] if d["value"] is True)
    assert yes["count"] == 9

    factors = data["factors"]
    assert factors["respondents"] == 9
    for family in factors["families"]:
        steps = [s for s in FACTORS if FAMILY[s] == family["id"]]
        rated = [p.ratings[FACTORS.index(s)] for p in ANSWERS if p.ratings for s in steps]
        assert family["score"] == one_decimal(rated), family["id"]
        assert set(family["by_category"]) == set(raters)
        for group, score in family["by_category"].items():
            mine = [p.ratings[FACTORS.index(s)] for p in ANSWERS
                    if p.ratings and p.category in raters[group] for s in steps]
            assert score == one_decimal(mine), (family["id"], group)
    everything = [r for p in ANSWERS if p.ratings for r in p.ratings]
    assert factors["overall"] == one_decimal(everything)
    # Spot check by hand: confiance (relationnels) of the two élus and the citoyen who
    # rated = (2+3+1)/3 (the two élus' own mean, 2,5, was one of them's rating shown).
    relationnels = next(f for f in factors["families"] if f["id"] == "relationnels")
    assert relationnels["by_category"]["autres_categories"] == 2.0

    assert sorted(data["obstacles"]) == sorted(p.obstacle for p in ANSWERS)
    assert sorted(data["expectations"]) == sorted(p.expects for p in ANSWERS)
    assert data["obstacles"] == sorted(data["obstacles"], key=lambda t: (t.casefold(), t))
    agora = {g["category"]: g for g in data["agora"]}
    assert list(agora) == list(room)
    for category, members in room.items():
        mine = [p for p in ANSWERS if p.category in members]
        assert agora[category]["count"] == len(mine)
        assert sorted(agora[category]["asks"]) == sorted(p.asks for p in mine)
        assert sorted(agora[category]["commits"]) == sorted(p.commits for p in mine)

    flat = str(data)
    assert "console:" not in flat and "elu1" not in flat and "ess2" not in flat  # no names


async def test_chat_synthesis_has_figures_a_chart_and_the_page(assistant):
    workshop = await run_workshop(assistant, ANSWERS[:4])
    replies = await workshop.facilitator.say(f"/synthese {workshop.code}")
    text = "\n".join(r.text for r in replies)
    # 3 élus and 1 agent: the agent alone cannot be shown, nor with the élus as
    # « Autres catégories » (the whole room), so no figure per category at all.
    assert "4 participants" in text and "Élu ou élue : 3" not in text
    assert "Trop peu de participants par catégorie pour les distinguer" in text
    assert "Agent d'une collectivité : 1" not in text
    assert [r.image.mime_type for r in replies if r.image] == ["image/png"]  # factors only
    [page] = [r.file for r in replies if r.file]
    assert page.filename.endswith(".html") and b"data:image/png;base64," in page.content
    assert HOSTILE not in text  # verbatims stay in the files, never as chat markup


async def test_a_participant_counts_once_and_a_cancelled_one_not_at_all(assistant):
    workshop = await run_workshop(assistant, ANSWERS[:2])
    again = workshop.people["elu1"]
    await again.say(f"/rejoindre {workshop.code}")
    assert "remplaceront" in again.text()
    await again.say("2")  # now as an agent, then stops half-way
    data = await synthesis_json(workshop.facilitator, workshop.code)
    assert data["participants"] == 2 and data["by_category"] == {}  # 1 + 1: not shown
    await again.say("/annuler")
    data = await synthesis_json(workshop.facilitator, workshop.code)
    assert data["participants"] == 2 and data["by_category"] == {}


async def test_an_empty_workshop_says_how_to_invite(assistant):
    workshop = await create_workshop(assistant)
    data = await synthesis_json(workshop.facilitator, workshop.code)
    assert data["participants"] == 0 and data["by_category"] == {}
    replies = await workshop.facilitator.say(f"/synthese {workshop.code} md")
    assert f"/rejoindre {workshop.code}" in replies[0].file.content.decode()


async def test_create_in_one_message_and_the_invitation_to_forward(assistant):
    from tests.conftest import ConsoleUser

    anim = ConsoleUser(assistant, "anim2")
    await anim.say("/atelier Agora des 4 Fantastiques")
    assert "questionnaire" in anim.text()
    replies = await anim.say("2")  # the factor self-check
    invitation = replies[-1].text
    assert "/rejoindre " in invitation and "Agora des 4 Fantastiques" in invitation
    code = invitation.split("/rejoindre ")[1].split()[0]
    bob = ConsoleUser(assistant, "bob")
    await bob.say(f"/rejoindre {code.lower().replace('-', '')}")
    assert "(1/25)" in bob.text()  # facteurs, reached with a code typed loosely
    await bob.say("1")
    data = await synthesis_json(anim, code)
    assert data["flow"] == "facteurs" and data["participants"] == 1
    assert data["by_category"] == {}  # one person: no breakdown


async def test_creation_can_be_abandoned_or_interrupted_by_a_flow(assistant):
    from tests.conftest import ConsoleUser

    anim = ConsoleUser(assistant, "hesitant")
    await anim.say("/atelier")
    await anim.say("annuler")
    assert "abandonnée" in anim.text()
    await anim.say("Une vraie question sur les SCIC ?")
    assert "Choisissez" not in anim.text()  # no longer waiting for a title

    await anim.say("/atelier")
    await anim.say("/facteurs")  # changes their mind: the next answer is the flow's
    await anim.say("2")
    assert "(2/25)" in anim.text()
    records = await assistant.storage.user_sessions(anim.key)
    assert [a.value for a in records[0].answers.values()] == ["agent"]

    await anim.say("/atelier Titre trop long " + "x" * 200)
    assert "caractères" in anim.text()
    await anim.say("Titre court")
    await anim.say("7")
    assert "1 ou 2" in anim.text()
    await anim.say("1")
    assert "/rejoindre" in anim.text()
