"""The recap before the summary (issue 14), as plain functions: engine and display.

Every shipped flow ends on a recap listing each passed question, numbered, with its
answer; « modifier N » asks question N again and comes back to the recap, asking
first any step the change opened; « valider » completes. Long recaps fit a chat
message (Telegram: 4,096 characters) with the buttons under the last bubble.
"""

from __future__ import annotations

import re

import pytest

from bot.channels.console import render as console_render
from bot.channels.matrix_render import text_content
from bot.channels.telegram.render import render_text
from bot.markup import to_plain
from bot.messages import Outgoing, from_stored_form, stored_form
from bot.recap_view import recap_messages
from bot.texts import texts
from flows import engine
from flows.engine import Completed, FlowState, Notice, Question, Recap
from flows.model import Flow, Step
from flows.recap import Edit, Validate, read_recap_reply, step_label
from flows.registry import load_flows
from flows.typography import french
from flows.views import display_value
from tests.test_cadrage import CONSOLE_CONCERTATION

FLOWS = load_flows()
TEXTS = texts()
LONG = "Une réponse très détaillée, " * 80  # 2,240 characters


def answer_for(step: Step, long: bool = False) -> str:
    match step.type:
        case "yesno":
            return "oui"
        case "number":
            return str(int(step.min) if step.min is not None else 3)
        case "text":
            return LONG[: step.max_length] if long else f"Réponse à {step.id}"
        case "multichoice":
            return ", ".join(str(i) for i in range(1, len(step.options) + 1))
        case _:
            return "2 avec un commentaire assez long pour être coupé" if step.comment else "2"


def to_recap(flow: Flow, long: bool = False, skip: bool = True) -> engine.Transition:
    """Every question answered (optional ones passed with /passer when ``skip``)."""
    transition = engine.start(flow)
    while (step := engine.current_step(flow, transition.state)) is not None:
        if skip and step.optional:
            transition = engine.skip(flow, transition.state)
        else:
            transition = engine.answer(flow, transition.state, answer_for(step, long))
    return transition


def recap_of(transition: engine.Transition) -> Recap:
    [recap] = [o for o in transition.outputs if isinstance(o, Recap)]
    return recap


def chat_text(flow: Flow, state: FlowState) -> str:
    return "\n".join(m.text for m in recap_messages(flow, engine.recap(flow, state), TEXTS))


@pytest.mark.parametrize("flow_id", sorted(FLOWS))
def test_each_flow_ends_on_a_recap_of_every_answer_numbered(flow_id: str) -> None:
    flow = FLOWS[flow_id]
    transition = to_recap(flow)
    state = transition.state
    assert state.status == "in_progress" and engine.at_recap(flow, state)
    items = recap_of(transition).items
    assert [i.step.id for i in items] == [s.id for s in flow.steps if s.id in state.history]
    assert [i.number for i in items] == list(range(1, len(state.history) + 1))
    text = to_plain(chat_text(flow, state))
    lines = [line for line in text.splitlines() if re.match(r"^\d+\. ", line)]
    assert len(lines) == len(items)
    for item, line in zip(items, lines, strict=True):
        # What people read is typeset (flows.typography): so are the expectations.
        assert line.startswith(french(f"{item.number}. {step_label(item.step)}"))
        if item.answered:
            shown = french(display_value(item.step, item.value))
            assert shown[:40] in line, (line, shown)
        else:
            assert line.endswith(french(TEXTS("flow.recap.skipped")))
    assert french(TEXTS("flow.recap.how")) in text


@pytest.mark.parametrize("flow_id", sorted(FLOWS))
def test_the_longest_recap_fits_telegram_with_the_buttons_at_the_end(flow_id: str) -> None:
    flow = FLOWS[flow_id]
    state = to_recap(flow, long=True, skip=False).state
    messages = recap_messages(flow, engine.recap(flow, state), TEXTS)
    for message in messages:
        pieces = render_text(message.text)
        assert len(pieces) == 1 and len(pieces[0]) <= 4096, (flow_id, len(message.text))
    assert all(not m.choices and not m.actions for m in messages[:-1])
    last = messages[-1]
    assert [c.label for c in last.choices] == [
        TEXTS("flow.recap.label_edit", number=n) for n in range(1, len(state.history) + 1)]
    assert [a.label for a in last.actions] == [TEXTS("flow.recap.label_validate"),
                                               TEXTS("label_back")]
    assert all(len(c.payload.encode()) <= 64 for c in (*last.choices, *last.actions))
    assert LONG[:200] not in "".join(m.text for m in messages), "long answers are shortened"


def test_the_charte_recap_of_19_answers_with_comments_fits_one_message() -> None:
    flow = FLOWS["charte"]
    messages = recap_messages(flow, engine.recap(flow, to_recap(flow, skip=False).state),
                              TEXTS)
    assert len(messages) == 1 and "(avec un commentaire" in messages[0].text


def test_text_channels_do_not_list_the_buttons_again() -> None:
    flow = FLOWS["statut"]
    [message] = recap_messages(flow, engine.recap(flow, to_recap(flow).state), TEXTS)
    shown = console_render(message)
    assert TEXTS("flow.recap.label_edit", number=1) not in shown
    assert "(/retour)" in shown
    content = text_content(message)
    assert content is not None and "<ol>" not in content["formatted_body"]


@pytest.mark.parametrize(
    ("typed", "read"),
    [("modifier 3", Edit(3)), ("Modifier la 3", Edit(3)), ("3", Edit(3)), ("3.", Edit(3)),
     ("modif n°12", Edit(12)), ("changer la question 2", Edit(2)), ("MODIFIER 1", Edit(1)),
     ("valider", Validate()), ("Valider", Validate()), ("c'est bon", Validate()),
     ("ok", Validate()), ("bof", None), ("modifier", None), ("modifier trois", None),
     ("", None)],
)
def test_what_can_be_typed_at_the_recap(typed: str, read: object) -> None:
    assert read_recap_reply(typed) == read


def test_modifier_asks_again_with_the_current_answer_then_returns_to_the_recap() -> None:
    flow = FLOWS["statut"]
    state = to_recap(flow).state
    edit = engine.answer(flow, state, "modifier la 3")
    [q] = [o for o in edit.outputs if isinstance(o, Question)]
    assert q.step.id == "lucrativite" and q.revisit == 3 and q.current == "limite"
    back = engine.answer(flow, edit.state, "1")
    recap = recap_of(back)
    assert recap.items[2].value == "aucun"
    assert len(recap.items) == len(state.history)  # the recap, not question 4
    assert back.state.history == state.history
    done = engine.answer(flow, back.state, "valider")
    assert done.state.status == "completed" and done.outputs == (Completed(),)


def test_a_change_that_opens_and_closes_conditional_steps() -> None:
    flow = FLOWS["statut"]
    state = to_recap(flow).state  # objet 2 (service): salaries not asked, multi asked
    assert "multi" in state.answers and "prives" not in state.history
    number = [i.step.id for i in engine.recap(flow, state).items].index("collectivite") + 1
    edit = engine.edit(flow, state, number)
    opened = engine.answer(flow, edit.state, "3")  # the collectivités keep control
    asked = [o for o in opened.outputs if isinstance(o, Question)]
    assert [q.step.id for q in asked] == ["prives"]
    recap = recap_of(engine.answer(flow, opened.state, "non"))
    ids = [i.step.id for i in recap.items]
    assert ids[-2:] == ["collectivite", "prives"] and "multi" not in ids


def test_an_opened_step_among_later_answers_is_asked_then_the_recap() -> None:
    flow = FLOWS["cadrage"]
    state, transition = engine.start(flow).state, None
    for text in CONSOLE_CONCERTATION[:-1]:
        transition = (engine.skip(flow, state) if text == "/passer"
                      else engine.answer(flow, state, text))
        state = transition.state
    assert engine.at_recap(flow, state) and state.answers["scenarios"] is False
    number = [i.step.id for i in engine.recap(flow, state).items].index("scenarios") + 1
    opened = engine.answer(flow, engine.edit(flow, state, number).state, "oui")
    [q] = [o for o in opened.outputs if isinstance(o, Question)]
    assert q.step.id == "scenarios_detail" and q.revisit == number + 1 and q.current is None
    after = engine.answer(flow, opened.state, "Deux scénarios de place")
    recap = recap_of(after)
    assert recap.items[number].step.id == "scenarios_detail"
    assert len(recap.items) == len(state.history) + 1


def test_invalid_input_at_the_recap_is_explained_and_changes_nothing() -> None:
    flow = FLOWS["statut"]
    state = to_recap(flow).state
    count = len(state.history)
    for typed, key in (("modifier 99", "flow.recap.out_of_range"), ("0", "flow.recap.out_of_range"),
                       ("bof", "flow.recap.invalid")):
        refused = engine.answer(flow, state, typed)
        assert not refused.changed and refused.state == state
        notice, recap = refused.outputs
        assert isinstance(notice, Notice) and notice.key == key
        assert notice.params == {"max": count} and isinstance(recap, Recap)
    assert engine.skip(flow, state).outputs[0] == Notice("flow.recap.skip")
    assert engine.answer_option(flow, state, "objet", 1).outputs[0] == Notice(
        "flow.stale_button")


def test_back_from_the_recap_goes_to_the_last_question() -> None:
    flow = FLOWS["statut"]
    state = to_recap(flow).state
    back = engine.back(flow, state)
    [q] = [o for o in back.outputs if isinstance(o, Question)]
    assert q.step.id == state.history[-1] and not q.revisit


def test_back_while_changing_keeps_the_answer_and_returns_to_the_recap() -> None:
    flow = FLOWS["facteurs"]
    transition = engine.skip(flow, engine.answer(flow, engine.start(flow).state, "2").state)
    while engine.current_step(flow, transition.state) is not None:
        transition = engine.answer(flow, transition.state, "3")
    state = transition.state  # every factor rated 3, the project question passed
    assert "projet" not in state.answers
    edit = engine.edit(flow, state, 3)
    recap = recap_of(engine.back(flow, edit.state))
    assert recap.items[2].value == state.answers[recap.items[2].step.id]
    assert engine.back(flow, edit.state).state.history == state.history
    # A passed question is shown « (passée) » and can be filled in.
    assert not engine.recap(flow, state).items[1].answered
    filled = engine.answer(flow, engine.edit(flow, state, 2).state, "Une recyclerie")
    assert recap_of(filled).items[1].value == "Une recyclerie"
    # /passer while changing an answer empties it.
    emptied = engine.skip(flow, engine.edit(flow, filled.state, 2).state)
    assert not recap_of(emptied).items[1].answered


def test_a_newly_required_step_must_be_answered_before_the_recap() -> None:
    flow = FLOWS["statut"]
    state = to_recap(flow).state
    number = [i.step.id for i in engine.recap(flow, state).items].index("objet") + 1
    opened = engine.answer(flow, engine.edit(flow, state, number).state, "1")
    step = engine.current_step(flow, opened.state)
    assert step is not None and step.id == "salaries"  # activité: the SCOP question opens
    q = engine.question(flow, opened.state)
    assert q is not None and q.revisit and q.current is None
    refused = engine.back(flow, opened.state)  # needed now: /retour cannot leave it empty
    assert refused.outputs[0] == Notice("flow.recap.revisit_required") and not refused.changed
    recap = recap_of(engine.answer(flow, opened.state, "non"))
    assert "salaries" in [i.step.id for i in recap.items]


def test_a_recap_kept_for_redelivery_stays_unlisted() -> None:
    """Replies a dead worker never sent are kept and sent later: still not listed twice."""
    flow = FLOWS["statut"]
    messages = recap_messages(flow, engine.recap(flow, to_recap(flow).state), TEXTS)
    assert from_stored_form(stored_form(messages)) == messages
    assert "listed" not in stored_form([Outgoing(text="x")])[0]  # other replies as before
