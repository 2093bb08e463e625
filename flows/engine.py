"""The flow engine: a pure state machine, no I/O.

Given a flow, a state and an input it returns the new state and what to say.
Storage saves the state and channels render the replies, so the same semantics
(start, answer, back, skip, cancel, resume, progress, re-ask) hold on every
platform and can be tested as plain functions.

The state keeps only what was answered (``answers``) and the order in which
steps were passed (``history``); the current step is derived from them, so a
resumed session can never point at a step that does not exist.

When every step is passed the flow is not completed yet: it shows a recap
(:mod:`flows.recap`) where any answer can be changed, and only « valider » completes
it. Changing answer N takes N out of ``history`` (its answer kept, shown as the
current one); once answered again, it goes back in its place and the recap returns,
unless the change opened new steps, which are asked first. ``history`` is kept in
the flow's order, so /retour from the recap goes to the last question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from flows.model import Flow, Step
from flows.parsing import Invalid, Parsed, parse_answer
from flows.recap import (
    Edit,
    RecapItem,
    Validate,
    in_flow_order,
    number_of,
    read_recap_reply,
    recap_items,
    still_asked,
)

Status = Literal["in_progress", "completed", "cancelled"]


@dataclass(frozen=True, slots=True)
class FlowState:
    flow_id: str
    version: str
    history: tuple[str, ...] = ()
    """Steps passed (answered or skipped), oldest first."""
    answers: Mapping[str, Any] = field(default_factory=dict)
    comments: Mapping[str, str] = field(default_factory=dict)
    status: Status = "in_progress"
    selection: tuple[str, ...] = ()
    """Options ticked so far on a multiple-choice step answered with buttons."""


@dataclass(frozen=True, slots=True)
class Question:
    step: Step
    position: int
    total: int
    selection: tuple[str, ...] = ()
    revisit: int = 0
    """When changing an answer from the recap: its number there (0 otherwise)."""
    current: Any = None
    """The answer being changed (``None``: none yet, or a question passed with /passer)."""


@dataclass(frozen=True, slots=True)
class Recap:
    """Every passed question with its answer: « modifier N » or « valider »."""

    items: tuple[RecapItem, ...]


@dataclass(frozen=True, slots=True)
class Notice:
    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Completed:
    """« valider » at the recap: the caller computes and stores the summary."""


Output = Question | Recap | Notice | Completed


@dataclass(frozen=True, slots=True)
class Transition:
    state: FlowState
    outputs: tuple[Output, ...]
    changed: bool = True
    """False when the input was refused and nothing needs saving."""


def new_state(flow: Flow) -> FlowState:
    return FlowState(flow_id=flow.id, version=flow.version)


def start(flow: Flow) -> Transition:
    state = new_state(flow)
    return Transition(state, _next(flow, state))


def current_step(flow: Flow, state: FlowState) -> Step | None:
    if state.status != "in_progress":
        return None
    passed = set(state.history)
    answers = state.answers
    for step in flow.steps:
        # ``not step.when``: most steps have no condition (checked at every message).
        if step.id not in passed and (not step.when or step.visible(answers)):
            return step
    return None


def question(flow: Flow, state: FlowState, step: Step | None = None) -> Question | None:
    """The current question with its progress (``step``: the current step, if known)."""
    step = step or current_step(flow, state)
    if step is None:
        return None
    passed_ids = set(state.history)
    passed = ahead = 0
    for s in flow.steps:
        if s.id in passed_ids:
            passed += 1
        elif not s.when or _may_be_asked(s, state):
            ahead += 1
    if _revisiting(flow, state, step):
        return Question(step, passed + 1, passed + ahead, state.selection,
                        revisit=number_of(flow, state.history, step),
                        current=state.answers.get(step.id))
    return Question(step, passed + 1, passed + ahead, state.selection)


def at_recap(flow: Flow, state: FlowState) -> bool:
    """Every visible step passed, not validated yet."""
    return state.status == "in_progress" and current_step(flow, state) is None


def recap(flow: Flow, state: FlowState) -> Recap:
    return Recap(recap_items(flow, state.history, state.answers, state.comments))


def _revisiting(flow: Flow, state: FlowState, step: Step) -> bool:
    """The current step comes before a step already passed: an answer being changed
    from the recap, or a step that a changed answer opened."""
    if not state.history:
        return False
    return flow.index(state.history[-1]) > flow.index(step.id)


def _may_be_asked(step: Step, state: FlowState) -> bool:
    """Counted in the total unless an answer already given rules it out.

    The total can then only shrink as conditions are settled, never jump up: a
    person is not told « 4/4 » and then « 5/6 ».
    """
    return all(c.holds(state.answers) for c in step.when if c.step in state.history)


def resume(flow: Flow, state: FlowState) -> Transition:
    """Ask the current question again (after a restart, /aide, a stale button…)."""
    return Transition(state, _next(flow, state), changed=False)


def answer(flow: Flow, state: FlowState, text: str) -> Transition:
    step = current_step(flow, state)
    if step is None:
        if state.status == "in_progress":
            return _recap_reply(flow, state, text)
        return Transition(state, (Notice("flow.not_active"),), changed=False)
    parsed = parse_answer(step, text)
    if isinstance(parsed, Invalid):
        return _refuse(flow, state, Notice(parsed.key, parsed.params))
    return _record(flow, state, step, parsed)


def answer_option(flow: Flow, state: FlowState, step_id: str, index: int) -> Transition:
    """A button press: option ``index`` (1-based) of step ``step_id``."""
    step = current_step(flow, state)
    buttons = 2 if step is not None and step.type == "yesno" else len(step.options) if step else 0
    if step is None or step.id != step_id or not 1 <= index <= buttons:
        # Text and number steps have no buttons: a press there is forged or stale.
        return _refuse(flow, state, Notice("flow.stale_button"))
    if step.type == "yesno":
        return _record(flow, state, step, Parsed(index == 1))
    if step.type == "multichoice":
        value = step.options[index - 1].value
        chosen = list(state.selection)
        if value in chosen:
            chosen.remove(value)
        else:
            chosen.append(value)
        order = [o.value for o in step.options]
        selection = tuple(sorted(chosen, key=order.index))
        new = replace(state, selection=selection)
        return Transition(new, _next(flow, new))
    value = index if step.type == "scale" else step.options[index - 1].value
    return _record(flow, state, step, Parsed(value))


def confirm_selection(flow: Flow, state: FlowState, step_id: str) -> Transition:
    """« Valider » on a multiple-choice step answered with buttons."""
    step = current_step(flow, state)
    if step is None or step.id != step_id or step.type != "multichoice":
        return _refuse(flow, state, Notice("flow.stale_button"))
    if not state.selection:
        return _refuse(flow, state, Notice("invalid.multichoice_empty"))
    return _record(flow, state, step, Parsed(list(state.selection)))


def edit(flow: Flow, state: FlowState, number: int) -> Transition:
    """« modifier N » at the recap: ask question N again, its answer shown."""
    if not at_recap(flow, state):
        return _refuse(flow, state, Notice("flow.stale_button"))
    items = recap(flow, state).items
    if not 1 <= number <= len(items):
        return _refuse(flow, state, Notice("flow.recap.out_of_range", {"max": len(items)}))
    step_id = items[number - 1].step.id
    new = replace(state, history=tuple(h for h in state.history if h != step_id), selection=())
    return Transition(new, _next(flow, new))


def edit_step(flow: Flow, state: FlowState, step_id: str) -> Transition:
    """A « modifier » button of the recap, naming its step."""
    items = recap(flow, state).items if at_recap(flow, state) else ()
    number = next((i.number for i in items if i.step.id == step_id), 0)
    if not number:
        return _refuse(flow, state, Notice("flow.stale_button"))
    return edit(flow, state, number)


def validate(flow: Flow, state: FlowState) -> Transition:
    """« valider » at the recap: the flow is completed and the summary made."""
    if not at_recap(flow, state):
        return _refuse(flow, state, Notice("flow.stale_button"))
    return Transition(replace(state, status="completed"), (Completed(),))


def _recap_reply(flow: Flow, state: FlowState, text: str) -> Transition:
    match read_recap_reply(text):
        case Edit(number=number):
            return edit(flow, state, number)
        case Validate():
            return validate(flow, state)
    count = len(state.history)
    return _refuse(flow, state, Notice("flow.recap.invalid", {"max": count}))


def back(flow: Flow, state: FlowState) -> Transition:
    if state.status != "in_progress":
        return Transition(state, (Notice("flow.not_active"),), changed=False)
    step = current_step(flow, state)
    if step is not None and _revisiting(flow, state, step):
        return _back_to_recap(flow, state, step)
    if not state.history:
        return _refuse(flow, state, Notice("flow.back_at_start"))
    previous = state.history[-1]
    answers = {k: v for k, v in state.answers.items() if k != previous}
    comments = {k: v for k, v in state.comments.items() if k != previous}
    new = replace(state, history=state.history[:-1], answers=answers, comments=comments,
                  selection=())
    return Transition(new, _next(flow, new))


def _back_to_recap(flow: Flow, state: FlowState, step: Step) -> Transition:
    """/retour while changing an answer: the answer stays as it was."""
    if step.id not in state.answers and not step.optional:
        return _refuse(flow, state, Notice("flow.recap.revisit_required"))
    return _advance(flow, replace(state, history=in_flow_order(flow, state.history, step.id),
                                  selection=()))


def skip(flow: Flow, state: FlowState) -> Transition:
    step = current_step(flow, state)
    if step is None:
        if state.status == "in_progress":
            return _refuse(flow, state, Notice("flow.recap.skip"))
        return Transition(state, (Notice("flow.not_active"),), changed=False)
    if not step.optional:
        return _refuse(flow, state, Notice("flow.skip_required"))
    answers = {k: v for k, v in state.answers.items() if k != step.id}
    comments = {k: v for k, v in state.comments.items() if k != step.id}
    return _advance(flow, replace(state, history=in_flow_order(flow, state.history, step.id),
                                  answers=answers, comments=comments, selection=()))


def cancel(state: FlowState) -> Transition:
    if state.status != "in_progress":
        return Transition(state, (Notice("flow.not_active"),), changed=False)
    return Transition(replace(state, status="cancelled"), (Notice("flow.cancelled"),))


def _record(flow: Flow, state: FlowState, step: Step, parsed: Parsed) -> Transition:
    answers = {**state.answers, step.id: parsed.value}
    comments = {k: v for k, v in state.comments.items() if k != step.id}
    if parsed.comment:
        comments[step.id] = parsed.comment
    history = in_flow_order(flow, state.history, step.id)
    revisited = history[-1] != step.id
    new = replace(state, history=history, answers=answers, comments=comments, selection=())
    return _advance(flow, _prune(flow, new) if revisited else new)


def _prune(flow: Flow, state: FlowState) -> FlowState:
    """After a changed answer: forget the steps whose condition no longer holds."""
    kept = still_asked(flow, state.history, state.answers, state.comments)
    if kept is None:
        return state
    history, answers, comments = kept
    return replace(state, history=history, answers=answers, comments=comments)


def _advance(flow: Flow, state: FlowState) -> Transition:
    """After a step was passed: the next question, or the recap."""
    return Transition(state, _next(flow, state))


def _next(flow: Flow, state: FlowState) -> tuple[Output, ...]:
    q = question(flow, state)
    return (q,) if q else (recap(flow, state),)


def _refuse(flow: Flow, state: FlowState, notice: Notice) -> Transition:
    if state.status != "in_progress":
        return Transition(state, (notice,), changed=False)
    return Transition(state, (notice, *_next(flow, state)), changed=False)
