"""Property-based tests of the flow engine over every shipped flow (hypothesis).

Any sequence of inputs — typed answers (valid, invalid or hostile), button
presses on any option, « Valider », /retour, /passer, /annuler — keeps the
invariants a person relies on:

- the progress « (n/total) » stays within 1 ≤ n ≤ total;
- answers exist only for steps of the flow, and only for steps passed;
- a step is passed at most once in the history;
- /retour after an accepted answer gives back the state before it, and giving
  the same input again gives back the same state (back then forward restores);
- /annuler ends the session: afterwards nothing is asked or recorded;
- a refused input changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import engine
from flows.engine import FlowState, Question, Transition
from flows.model import Flow
from flows.registry import load_flows

FLOWS = load_flows()
BUDGET = settings(max_examples=200, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])

typed = st.one_of(
    st.integers(min_value=-2, max_value=12).map(str),
    st.sampled_from(["oui", "non", "1,2", "1 et 3", "2 un commentaire", "3.", "12,5",
                     "Plutôt un frein", "Élu ou élue", "", " ", "\u200b", "=1+1",
                     "<b>x</b>", "x" * 600, "٣", "２"]),
    st.text(max_size=40),
)
action = st.one_of(
    st.tuples(st.just("answer"), typed),
    st.tuples(st.just("option"), st.integers(min_value=0, max_value=9)),
    st.tuples(st.just("confirm"), st.none()),
    st.tuples(st.just("back"), st.none()),
    st.tuples(st.just("skip"), st.none()),
    st.tuples(st.just("cancel"), st.none()),
)


def apply(flow: Flow, state: FlowState, act: tuple[str, Any]) -> Transition:
    kind, arg = act
    match kind:
        case "answer":
            return engine.answer(flow, state, arg)
        case "option" | "confirm":
            step = engine.current_step(flow, state)
            step_id = step.id if step is not None else flow.steps[0].id
            if kind == "confirm":
                return engine.confirm_selection(flow, state, step_id)
            if step is not None and step.type in ("text", "number"):
                # No buttons on these steps (a forged press is refused: see the test below).
                return engine.resume(flow, state)
            return engine.answer_option(flow, state, step_id, arg)
        case "back":
            return engine.back(flow, state)
        case "skip":
            return engine.skip(flow, state)
        case _:
            return engine.cancel(state)


def check_invariants(flow: Flow, state: FlowState, transition: Transition) -> None:
    ids = {s.id for s in flow.steps}
    assert set(state.answers) <= ids, "answers only for existing steps"
    assert set(state.comments) <= set(state.answers)
    assert set(state.history) <= ids and len(set(state.history)) == len(state.history)
    # An answer being changed from the recap is out of the history until answered again
    # (issue 14): it is then the current step, and the only one.
    step = engine.current_step(flow, state)
    revisited = {step.id} if step is not None and step.id in state.answers else set()
    assert set(state.answers) <= set(state.history) | revisited, "answers only for steps passed"
    for output in transition.outputs:
        if isinstance(output, Question):
            assert 1 <= output.position <= output.total
            assert output.total <= len(flow.steps)
    q = engine.question(flow, state)
    if q is not None:
        assert 1 <= q.position <= q.total <= len(flow.steps)
    if state.status != "in_progress":
        assert engine.current_step(flow, state) is None


def same(a: FlowState, b: FlowState) -> bool:
    return (a.history, dict(a.answers), dict(a.comments), a.status) == (
        b.history, dict(b.answers), dict(b.comments), b.status)


@pytest.mark.parametrize("flow_id", sorted(FLOWS))
@BUDGET
@given(actions=st.lists(action, max_size=60))
def test_any_sequence_of_inputs_keeps_the_invariants(flow_id: str,
                                                     actions: list[tuple[str, Any]]) -> None:
    flow = FLOWS[flow_id]
    start = engine.start(flow)
    state = start.state
    check_invariants(flow, state, start)
    for act in actions:
        before = state
        transition = apply(flow, state, act)
        state = transition.state
        check_invariants(flow, state, transition)
        if not transition.changed:
            assert same(state, before), "a refused input changes nothing"
            continue
        if act[0] == "cancel":
            assert state.status == "cancelled"
            after = engine.answer(flow, state, "1")
            assert not after.changed and engine.current_step(flow, after.state) is None
            assert engine.question(flow, state) is None
        answered = len(state.history) == len(before.history) + 1
        asked = engine.question(flow, before)
        if asked is not None and asked.revisit:
            # An answer changed from the recap: /retour from the recap goes to the last
            # question, not back to the change (issue 14). The answer is kept, in order.
            assert state.history == tuple(sorted(state.history, key=flow.index))
            continue
        if state.status == "in_progress" and answered and before.status == "in_progress":
            # Back then forward: /retour restores the state before, the same input redoes it.
            undone = engine.back(flow, state).state
            assert same(undone, before), (act, before, undone)
            redone = apply(flow, undone, act).state
            assert same(redone, state), (act, state, redone)


@pytest.mark.parametrize("flow_id", sorted(FLOWS))
@BUDGET
@given(marks=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=80))
def test_answering_by_number_always_ends_or_progresses(flow_id: str, marks: list[int]) -> None:
    """Typing numbers only: each accepted one moves the progress forward by one."""
    flow = FLOWS[flow_id]
    state = engine.start(flow).state
    for mark in marks:
        q = engine.question(flow, state)
        if q is None:
            break
        transition = engine.answer(flow, state, str(mark))
        if transition.changed:
            assert transition.state.status == "completed" or engine.at_recap(
                flow, transition.state) or (
                engine.question(flow, transition.state).position  # type: ignore[union-attr]
                >= q.position
            )
        state = transition.state
        check_invariants(flow, state, transition)


def test_a_button_press_on_a_text_step_is_refused_politely() -> None:
    flow = FLOWS["cadrage"]
    state = engine.start(flow).state
    step = engine.current_step(flow, state)
    assert step is not None and step.type == "text"
    transition = engine.answer_option(flow, state, step.id, 1)
    assert not transition.changed
