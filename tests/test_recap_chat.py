"""The recap in a conversation (issue 14): real storage, real assistant, console user.

What a person notices: after the last answer the recap, not the summary; « modifier 3 »
and the buttons; a wrong input explained with nothing lost; the summary after
« valider » is the one completion gave before; leaving at the recap and coming back
after a restart; workshop participants go through the recap too.
"""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.core import Assistant
from bot.flow_turns import summary_messages
from bot.markup import to_plain
from bot.testing import ConsoleUser
from bot.texts import texts
from flows.engine import FlowState
from flows.typography import french
from storage.records import SessionRecord
from tests.test_workshop_helpers import ANSWERS, create_workshop, synthesis_json, typed_answers

TEXTS = texts()
STATUT = ("1", "2", "2", "2", "non", "oui")  # activité, collectif, limité, minoritaire…
TITLE = to_plain(TEXTS("flow.recap.title"))


async def statut_session(assistant: Assistant, user: ConsoleUser) -> SessionRecord:
    [session] = await assistant.storage.user_sessions(user.key, "statut")
    return session


async def at_recap(user: ConsoleUser) -> None:
    await user.say("/statut")
    for text in STATUT:
        await user.say(text)


async def test_the_last_answer_shows_the_recap_and_modifier_changes_one(alice, assistant):
    await at_recap(alice)
    shown = alice.plain()
    assert TITLE in shown and TEXTS("flow.completed") not in shown
    assert french("1. Quel est le cœur de votre projet ? Produire ou vendre") in shown
    assert french("3. Que deviendront les bénéfices éventuels ? Surtout réinvestis") in shown
    assert (await statut_session(assistant, alice)).status == "in_progress"

    await alice.say("modifier 3")
    asked = alice.plain()
    assert french("Modifier la réponse 3") in asked
    assert french("Que deviendront les bénéfices") in asked
    assert french("Réponse actuelle : Surtout réinvestis, une petite part pour les associés") \
        in asked
    await alice.say("1")
    again = alice.plain()
    assert TITLE in again and "Réponse actuelle" not in again
    assert french("3. Que deviendront les bénéfices éventuels ? Aucun partage") in again
    assert french("6. ") in again and "7. " not in again  # the same six answers, one changed
    session = await statut_session(assistant, alice)
    assert session.status == "in_progress" and session.answers["lucrativite"].value == "aucun"


async def test_valider_gives_the_summary_completion_gave_before(alice, assistant):
    await at_recap(alice)
    replies = await alice.say("valider")
    session = await statut_session(assistant, alice)
    assert session.status == "completed"
    flow = assistant.content.flows["statut"]
    state: FlowState = session.flow_state
    expected = assistant.content.summarise(flow, state.answers, state.comments)
    assert session.summary == expected and expected
    texts_expected = [TEXTS("flow.completed")]
    if flow.outro:
        texts_expected.append(flow.outro.strip())
    texts_expected += [m.text for m in summary_messages(flow, expected, state)]
    assert [r.text for r in replies if r.text] == texts_expected
    await alice.say("valider")  # nothing active any more: not a second summary
    assert TEXTS("flow.completed") not in alice.text()


async def test_invalid_input_at_the_recap_is_explained_and_loses_nothing(alice, assistant):
    await at_recap(alice)
    before = await statut_session(assistant, alice)
    await alice.say("modifier 99")
    assert TEXTS("flow.recap.out_of_range", max=6) in alice.text()
    assert TITLE in alice.plain()
    await alice.say("bof")
    assert TEXTS("flow.recap.invalid", max=6) in alice.text() and TITLE in alice.plain()
    await alice.say("/passer")
    assert TEXTS("flow.recap.skip") in alice.text()
    await alice.say("/aide")
    assert TEXTS("flow.recap.how") in alice.text()
    after = await statut_session(assistant, alice)
    assert (after.answers, after.history, after.status) == (
        before.answers, before.history, before.status)


async def test_retour_from_the_recap_goes_to_the_last_question(alice):
    await at_recap(alice)
    await alice.say("/retour")
    assert french("plusieurs types d'acteurs") in alice.plain() and TITLE not in alice.plain()
    await alice.say("non")
    assert TITLE in alice.plain() and french("6. Voulez-vous associer") in alice.plain()


async def test_the_recap_buttons(alice, assistant):
    await at_recap(alice)
    last = alice.last[-1]
    assert [c.label for c in last.choices] == [f"Modifier {n}" for n in range(1, 7)]
    validate, back = last.actions
    assert back.payload == "/retour"
    await alice.press(last.choices[3].payload)  # « Modifier 4 »
    assert french("Modifier la réponse 4") in alice.plain()
    question = alice.last[-1]
    await alice.press(validate.payload)  # a recap button while question 4 is asked: stale
    assert TEXTS("flow.stale_button") in alice.text()
    assert french("Modifier la réponse 4") in alice.plain()
    await alice.press(question.choices[2].payload)  # the collectivités keep control
    assert french("actionnaires privés") in alice.plain()  # the step this answer opens
    await alice.say("non")
    recap = alice.last[-1]
    assert TITLE in alice.plain() and french("5. Des actionnaires privés") in alice.plain()
    assert len(recap.choices) == 5  # salariés and multi-acteurs no longer apply
    await alice.press(recap.actions[0].payload)  # « Valider »
    assert TEXTS("flow.completed") in alice.text()
    session = await statut_session(assistant, alice)
    assert session.status == "completed" and "multi" not in session.answers
    await alice.press(recap.choices[0].payload)  # the old recap, once completed
    assert TEXTS("flow.stale_button_no_flow") in alice.text()


async def test_leaving_at_the_recap_and_coming_back_after_a_restart(tmp_path: Path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'recap.db'}", secret="s")
    first = await Assistant.create(settings)
    try:
        await at_recap(ConsoleUser(first, "bea"))
        await ConsoleUser(first, "bea").say("modifier 2")  # left while changing answer 2
    finally:
        await first.close()
    second = await Assistant.create(settings)
    try:
        bea = ConsoleUser(second, "bea")
        await bea.say("/reprendre")
        assert french("Modifier la réponse 2") in bea.plain()
        assert french("Réponse actuelle") in bea.plain()
        await bea.say("/retour")  # back to the recap, answer 2 unchanged
        assert TITLE in bea.plain() and french("2. Qui porte le projet ? Plusieurs") in bea.plain()
        await bea.say("/start")  # wanders off
        await bea.say("/statut")
        title = second.content.flows["statut"].title
        assert TEXTS("flow.resumed", title=title) in bea.text()
        assert TITLE in bea.plain()
    finally:
        await second.close()
    third = await Assistant.create(settings)
    try:
        bea = ConsoleUser(third, "bea")
        await bea.say("/reprendre")
        assert TITLE in bea.plain()
        await bea.say("valider")
        assert TEXTS("flow.completed") in bea.text()
        [session] = await third.storage.user_sessions(bea.key, "statut")
        assert session.status == "completed" and session.summary
    finally:
        await third.close()


async def test_a_workshop_participant_is_counted_once_the_recap_is_validated(assistant):
    workshop = await create_workshop(assistant)
    person = ANSWERS[0]
    user = ConsoleUser(assistant, person.name)
    await user.say(f"/rejoindre {workshop.code}")
    *answers, validate = typed_answers(person)
    assert validate == "valider"
    for line in answers:
        await user.say(line)
    assert TITLE in user.plain()
    data = await synthesis_json(workshop.facilitator, workshop.code)
    assert data is not None and (data["participants"], data["completed"]) == (1, 0)
    await user.say("valider")
    assert "Merci" in user.text()
    data = await synthesis_json(workshop.facilitator, workshop.code)
    assert data is not None and (data["participants"], data["completed"]) == (1, 1)
