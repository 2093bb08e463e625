"""Routes, flow turns, the presenter and button payloads, tested directly: the real
assistant on the in-memory storage (``bot.testing``), no database, no channel."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.content import Content
from bot.messages import Incoming
from bot.payloads import MAX_BYTES, StepButton, decode_step_button
from bot.presenter import question_message
from bot.testing import ConsoleUser, memory_assistant
from bot.texts import texts
from flows import engine
from flows.loader import load_flow

DEMO = load_flow(Path(__file__).parent / "data" / "flows" / "demo.yaml")


def demo_content(flow=DEMO) -> Content:
    return Content(flows={flow.id: flow}, texts=texts(), knowledge=None, summarisers={})


@pytest.fixture
def person() -> ConsoleUser:
    return ConsoleUser(memory_assistant(demo_content()), "camille")


# --- payloads --------------------------------------------------------------------------


def test_a_button_names_its_flow_version_step_and_option_and_fits_telegram():
    button = StepButton("o", "cadrage", "a1b2c3", 32, 7)
    assert decode_step_button(button.encode()) == button
    assert len(StepButton("t", "x" * 16, "f" * 6, 999, 99).encode().encode()) <= MAX_BYTES
    for forged in ("o:demo:v:1", "x:demo:v:1:1", "o:demo:v:un:1", "kb:more:forme/scic", ""):
        assert decode_step_button(forged) is None


# --- presenter -------------------------------------------------------------------------


def test_a_question_shows_its_section_progress_hint_and_buttons():
    start = engine.start(DEMO)
    [question] = start.outputs
    out = question_message(DEMO, question, texts(), can_go_back=False)
    assert out.text.startswith("**Vous** (1/") and "Quel est votre rôle ?" in out.text
    assert [c.label for c in out.choices] == ["Élu·e", "Agent", "Autre"]
    assert all(decode_step_button(c.payload).flow_id == "demo" for c in out.choices)
    assert out.actions == ()  # nothing to go back to, nothing to skip


def test_an_optional_question_after_the_first_offers_back_and_skip():
    state = engine.answer(DEMO, engine.start(DEMO).state, "2").state  # agent: no mandate
    question = engine.question(DEMO, state)
    out = question_message(DEMO, question, texts(), can_go_back=True)
    assert [a.payload for a in out.actions] == ["/retour", "/passer"]


def test_ticked_options_of_a_multiple_choice_are_marked_and_can_be_validated():
    state = engine.start(DEMO).state
    for typed in ("2", "Un projet", "3"):
        state = engine.answer(DEMO, state, typed).state
    state = engine.answer_option(DEMO, state, "publics", 2).state
    out = question_message(DEMO, engine.question(DEMO, state), texts(), can_go_back=True)
    assert [c.label for c in out.choices] == ["Citoyens", "✓ Entreprises", "Associations"]
    assert decode_step_button(out.actions[0].payload).kind == "v"


# --- flow turns ------------------------------------------------------------------------


async def test_a_flow_starts_with_the_notice_then_its_intro_then_question_one(person):
    replies = await person.say("/demo")
    texts_ = [r.text for r in replies]
    assert "Vos données" in texts_[0] and "Quatre à six questions" in texts_[1]
    assert "(1/" in texts_[-1]


async def test_a_person_resumes_where_they_stopped(person):
    await person.say("/demo")
    await person.say("1")  # élu: the mandate question appears
    await person.say("/start")  # set aside
    assert "/demo" in person.text()
    await person.say("/demo")
    assert person.text().startswith(texts()("flow.resumed", title=DEMO.title))
    assert "(2/" in person.text() and "années" in person.text()


async def test_a_stale_button_says_so_and_shows_the_current_question(person):
    first = await person.say("/demo")
    old = first[-1].choices[0].payload
    await person.say("2")
    replies = await person.press(old)
    assert replies[0].text == texts()("flow.stale_button")
    assert "Décrivez votre projet" in replies[-1].text


async def test_a_changed_flow_file_keeps_the_answers_and_forgets_vanished_steps():
    assistant = memory_assistant(demo_content())
    alex = ConsoleUser(assistant, "alex")
    await alex.say("/demo")
    await alex.say("2")
    edited = replace(DEMO, version="edited", steps=tuple(s for s in DEMO.steps
                                                         if s.id != "projet"))
    assistant.content = demo_content(edited)
    await alex.say("/reprendre")
    assert "Les partenaires se font-ils confiance ?" in alex.text()
    [session] = await assistant.storage.user_sessions(alex.key)
    assert session.flow_version == "edited" and dict(session.answers)["role"].value == "agent"


# --- routes ----------------------------------------------------------------------------


async def test_navigation_outside_a_flow_says_there_is_nothing_to_do(person):
    for command, key in (("/retour", "commands.nothing_to_go_back"),
                         ("/passer", "commands.nothing_to_skip"),
                         ("/annuler", "commands.nothing_to_cancel")):
        await person.say(command)
        assert person.text() == texts()(key)


async def test_a_greeting_gets_a_greeting_and_an_unknown_command_says_what_to_type(person):
    await person.say("Bonjour !")
    assert person.text() == texts()("greeting")
    await person.say("/quoi")
    assert "/aide" in person.text()


async def test_without_a_knowledge_base_a_question_gets_a_polite_answer(person):
    await person.say("qui contacter pour un DLA ?")
    assert person.text() == texts()("kb.unavailable")


async def test_an_export_is_built_after_the_commit_and_sent_as_a_file(person):
    await person.say("/export md")
    assert person.text() == texts()("export.empty")
    await person.say("/demo")
    await person.say("2")
    replies = await person.say("/export json")
    assert replies[0].file is not None and b'"role"' in replies[0].file.content


async def test_a_redelivered_message_is_answered_once_and_unsent_replies_go_again():
    assistant = memory_assistant(demo_content())
    key = assistant.user_key("telegram", "5")
    tap = Incoming("telegram", key, "5", text="/demo", message_id="9")
    first = await assistant.handle(tap)
    assert await assistant.handle(tap) == []  # the worker sending them still runs
    assistant.storage.dead_workers.add(assistant.storage.worker)  # it died before sending
    again = await assistant.handle(tap)
    assert [r.text for r in again] == [r.text for r in first if r.text]
    await assistant.delivered(tap, again)
    assert await assistant.handle(tap) == []
