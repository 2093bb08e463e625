"""The flow engine's semantics, step by step, as plain functions (no I/O)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import engine
from flows.engine import Completed, Notice, Question, Recap
from flows.loader import load_flow
from flows.model import Flow

DEMO = Path(__file__).parent / "data" / "flows" / "demo.yaml"


@pytest.fixture(scope="module")
def flow() -> Flow:
    return load_flow(DEMO)


def run(flow: Flow, inputs: list[str]) -> engine.Transition:
    transition = engine.start(flow)
    for text in inputs:
        match text:
            case "/retour":
                transition = engine.back(flow, transition.state)
            case "/passer":
                transition = engine.skip(flow, transition.state)
            case "/annuler":
                transition = engine.cancel(transition.state)
            case _:
                transition = engine.answer(flow, transition.state, text)
    return transition


def asked(transition: engine.Transition) -> str | None:
    questions = [o for o in transition.outputs if isinstance(o, Question)]
    return questions[-1].step.id if questions else None


def notices(transition: engine.Transition) -> list[str]:
    return [o.key for o in transition.outputs if isinstance(o, Notice)]


@pytest.mark.parametrize(
    ("inputs", "expected_step", "expected_answers"),
    [
        ([], "role", {}),
        (["2"], "projet", {"role": "agent"}),
        (["1"], "mandat", {"role": "elu"}),  # condition: elected people get the extra step
        (["1", "12"], "projet", {"role": "elu", "mandat": 12}),
        (["agent"], "projet", {"role": "agent"}),  # the label works as well as the number
        (["ÉLU·E"], "mandat", {"role": "elu"}),
        (["2", "/passer"], "confiance", {"role": "agent"}),
        (["2", "Un tiers-lieu"], "confiance", {"role": "agent", "projet": "Un tiers-lieu"}),
        (["2", "/passer", "3"], "publics", {"role": "agent", "confiance": 3}),
        (["2", "/passer", "1", "1, 3"], "garant",
         {"role": "agent", "confiance": 1, "publics": ["citoyens", "associations"]}),
        (["2", "/passer", "1", "2", "/retour"], "publics", {"role": "agent", "confiance": 1}),
        (["2", "x", "/retour"], "projet", {"role": "agent"}),
        (["2", "x", "/retour", "/retour"], "role", {}),
    ],
)
def test_answers_and_navigation(flow, inputs, expected_step, expected_answers):
    transition = run(flow, inputs)
    assert asked(transition) == expected_step
    assert dict(transition.state.answers) == expected_answers


def test_completion_without_the_conditional_step(flow):
    at_recap = run(flow, ["2", "/passer", "4", "1"])
    assert at_recap.state.status == "in_progress"  # the recap comes first
    assert any(isinstance(o, Recap) for o in at_recap.outputs)
    transition = run(flow, ["2", "/passer", "4", "1", "valider"])
    assert transition.state.status == "completed"
    assert any(isinstance(o, Completed) for o in transition.outputs)
    assert "garant" not in transition.state.answers


def test_completion_with_the_conditional_step(flow):
    transition = run(flow, ["2", "/passer", "2 peu de liens", "2", "non", "valider"])
    assert transition.state.status == "completed"
    assert transition.state.answers["garant"] is False
    assert transition.state.comments == {"confiance": "peu de liens"}


@pytest.mark.parametrize(
    ("inputs", "notice"),
    [
        (["7"], "invalid.choice"),
        (["n'importe quoi"], "invalid.choice"),
        ([""], "invalid.empty"),
        (["   \u200b\x00  "], "invalid.empty"),
        (["1", "cent"], "invalid.number"),
        (["1", "99"], "invalid.number_range"),
        (["2", "x" * 201], "invalid.too_long"),
        (["2", "/passer", "5"], "invalid.scale"),
        (["2", "/passer", "3", "1, 9"], "invalid.multichoice"),
        (["2", "/passer", "1", "1", "peut-être"], "invalid.yesno"),
        (["/retour"], "flow.back_at_start"),
        (["/passer"], "flow.skip_required"),
    ],
)
def test_invalid_input_is_refused_with_an_explanation_and_the_question_again(
    flow, inputs, notice
):
    before = run(flow, inputs[:-1])
    transition = run(flow, inputs)
    assert notices(transition) == [notice]
    assert asked(transition) == asked(before)
    assert transition.state == before.state
    assert not transition.changed


def test_progress_total_only_shrinks_as_conditions_are_settled(flow):
    first = run(flow, [])
    q = first.outputs[0]
    assert (q.position, q.total) == (1, 6)  # mandat and garant may still be asked
    agent = run(flow, ["2"]).outputs[-1]
    assert (agent.position, agent.total) == (2, 5)  # no mandate question for an agent
    elected = run(flow, ["1"]).outputs[-1]
    assert (elected.position, elected.total) == (2, 6)
    trusting = run(flow, ["2", "/passer", "4"]).outputs[-1]
    assert (trusting.position, trusting.total) == (4, 4)  # no guarantor question either
    totals = []
    transition = engine.start(flow)
    for text in ["1", "3", "texte", "1", "1, 2", "oui"]:
        totals.append(transition.outputs[-1].total)
        transition = engine.answer(flow, transition.state, text)
    assert totals == sorted(totals, reverse=True)


def test_back_then_forward_restores_the_same_state(flow):
    state = run(flow, ["2", "texte", "3"]).state
    again = engine.answer(flow, engine.back(flow, state).state, "3").state
    assert again == state


def test_cancel_ends_the_flow(flow):
    transition = run(flow, ["2", "/annuler"])
    assert transition.state.status == "cancelled"
    assert notices(transition) == ["flow.cancelled"]
    assert engine.current_step(flow, transition.state) is None


def test_buttons_answer_the_current_step_only(flow):
    state = run(flow, ["2", "/passer"]).state
    stale = engine.answer_option(flow, state, "role", 1)
    assert notices(stale) == ["flow.stale_button"] and stale.state == state
    pressed = engine.answer_option(flow, state, "confiance", 4)
    assert pressed.state.answers["confiance"] == 4


def test_multichoice_buttons_toggle_then_validate(flow):
    state = run(flow, ["2", "/passer", "3"]).state
    state = engine.answer_option(flow, state, "publics", 3).state
    state = engine.answer_option(flow, state, "publics", 1).state
    state = engine.answer_option(flow, state, "publics", 3).state
    assert state.selection == ("citoyens",)
    done = engine.confirm_selection(flow, state, "publics")
    assert done.state.answers["publics"] == ["citoyens"]
    empty = engine.confirm_selection(flow, run(flow, ["2", "/passer", "3"]).state, "publics")
    assert notices(empty) == ["invalid.multichoice_empty"]
