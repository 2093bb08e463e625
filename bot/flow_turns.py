"""Running a flow inside a conversation: start, resume, answer, navigate, complete.

The engine decides; this module gives it the session's state, keeps the new state
in the conversation and turns the engine's outputs into messages.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from bot.messages import Outgoing
from bot.notice import notice_once
from bot.payloads import StepButton
from bot.presenter import notice_text, question_message, step_help
from bot.recap_view import recap_messages
from bot.turn import ChartLater, Turn
from flows import engine
from flows.engine import Completed, FlowState, Notice, Question, Recap, Transition
from flows.model import Flow
from flows.views import views_from_state
from storage.records import SessionRecord
from storage.reports.render import has_template, render

log = logging.getLogger(__name__)


def start_flow(turn: Turn, flow: Flow, workshop_id: int | None = None,
               preface: tuple[Outgoing, ...] = ()) -> list[Outgoing]:
    """Start the flow, or resume it where the person left it."""
    conv = turn.conv
    replies: list[Outgoing] = [*notice_once(turn), *preface]  # the notice before any answer
    active = conv.active_session()
    if active is not None and (active.flow_id != flow.id or active.workshop_id != workshop_id):
        replies.extend(paused(turn, active))
    conv.set_state(choices=None)
    existing = conv.open_session_for(flow.id, workshop_id)
    if existing is not None:
        conv.set_active(existing)
        replies.append(turn.say("flow.resumed", title=flow.title))
        state = existing.flow_state
        if state.version != flow.version:
            state = _upgrade(flow, state)
            existing = conv.save_session(existing, state)
        return replies + _apply(turn, existing, flow, engine.resume(flow, state))

    transition = engine.start(flow)
    session = conv.start_session(transition.state, workshop_id)
    intro = turn.say("flow.started", title=flow.title).text
    if flow.intro:
        intro += "\n" + flow.intro.strip()
    replies.append(Outgoing(text=intro))
    return replies + _apply(turn, session, flow, transition)


def continue_flow(turn: Turn, session: SessionRecord, action: str,
                  text: str = "") -> list[Outgoing]:
    """``action``: answer, back, skip, cancel, help, resume."""
    flow = turn.flows.get(session.flow_id)
    if flow is None:
        # The flow file was removed: close the session rather than trap the person.
        turn.conv.save_session(session, replace(session.flow_state, status="cancelled"))
        turn.conv.set_active(None)
        return [turn.say("flow.cancelled")]
    before = session.flow_state
    state = _upgrade(flow, before) if before.version != flow.version else before
    match action:
        case "answer":
            transition = engine.answer(flow, state, text)
        case "back":
            transition = engine.back(flow, state)
        case "skip":
            transition = engine.skip(flow, state)
        case "cancel":
            transition = engine.cancel(state)
        case "help":
            q = engine.question(flow, state)
            if q is None and engine.at_recap(flow, state):
                return [turn.say("flow.recap.how")]
            return [step_help(flow, q, turn.texts)] if q else [turn.say("flow.not_active")]
        case _:
            transition = engine.resume(flow, state)
    return _apply(turn, session, flow, transition, before)


def press_button(turn: Turn, session: SessionRecord | None,
                 button: StepButton) -> list[Outgoing]:
    flow = turn.flows.get(button.flow_id)
    if session is None or flow is None or session.flow_id != button.flow_id:
        if session is not None:
            return [turn.say("flow.stale_button"), *continue_flow(turn, session, "resume")]
        return [turn.say("flow.stale_button_no_flow")]
    before = session.flow_state
    state = _upgrade(flow, before) if before.version != flow.version else before
    if button.kind in ("e", "f"):
        return _recap_button(turn, session, flow, button, before, state)
    current = engine.current_step(flow, state)
    if (
        button.version != flow.version
        or current is None
        or button.step_index >= len(flow.steps)
        or flow.steps[button.step_index].id != current.id
    ):
        return [turn.say("flow.stale_button"), *continue_flow(turn, session, "resume")]
    if button.kind == "v":
        transition = engine.confirm_selection(flow, state, current.id)
    else:
        transition = engine.answer_option(flow, state, current.id, button.option)
    return _apply(turn, session, flow, transition, before)


def _recap_button(turn: Turn, session: SessionRecord, flow: Flow, button: StepButton,
                  before: FlowState, state: FlowState) -> list[Outgoing]:
    """« Modifier N » or « Valider » under the recap (stale once the recap is left)."""
    if (button.version != flow.version or not engine.at_recap(flow, state)
            or button.step_index >= len(flow.steps)):
        return [turn.say("flow.stale_button"), *continue_flow(turn, session, "resume")]
    if button.kind == "f":
        transition = engine.validate(flow, state)
    else:
        transition = engine.edit_step(flow, state, flow.steps[button.step_index].id)
    return _apply(turn, session, flow, transition, before)


def _upgrade(flow: Flow, state: FlowState) -> FlowState:
    """A flow file changed under a session: keep answers, forget vanished steps' history."""
    known = {s.id for s in flow.steps}
    return replace(state, version=flow.version,
                   history=tuple(h for h in state.history if h in known), selection=())


def _apply(turn: Turn, session: SessionRecord, flow: Flow, transition: Transition,
           before: FlowState | None = None) -> list[Outgoing]:
    state = transition.state
    if before is not None and (transition.changed or before.version != state.version):
        session = turn.conv.save_session(session, state)
    replies: list[Outgoing] = []
    for output in transition.outputs:
        match output:
            case Notice():
                replies.append(Outgoing(text=notice_text(output, turn.texts)))
            case Question():
                replies.append(
                    question_message(flow, output, turn.texts, can_go_back=bool(state.history))
                )
            case Recap():
                replies.extend(recap_messages(flow, output, turn.texts))
            case Completed():
                replies.extend(_complete(turn, session, flow, state))
    if state.status != "in_progress":
        turn.conv.set_active(None)
    return replies


def _complete(turn: Turn, session: SessionRecord, flow: Flow,
              state: FlowState) -> list[Outgoing]:
    summary = turn.content.summarise(flow, state.answers, state.comments)
    turn.conv.save_summary(session, summary)
    replies = [turn.say("flow.completed")]
    if flow.outro:
        replies.append(Outgoing(text=flow.outro.strip()))
    summary_bubbles = summary_messages(flow, summary, state)
    replies.extend(summary_bubbles)
    if not summary_bubbles:
        replies.append(turn.say("flow.export_hint"))
    if summary and flow.summary:  # drawn elsewhere, sent after the replies (FollowUps)
        turn.follow_ups.append(ChartLater(flow.summary, summary, f"{flow.id}-synthese.png",
                                          flow.title))
    return replies


def summary_messages(flow: Flow, summary: dict[str, Any], state: FlowState) -> list[Outgoing]:
    name = f"chat/{flow.summary}.j2"
    if not flow.summary or not has_template(name):
        return []
    text = render(name, flow=flow, summary=summary,
                  answers=views_from_state(flow, state.answers, state.comments))
    return bubbles(text)


def bubbles(text: str) -> list[Outgoing]:
    """Rendered chat text → one message per part between lines holding only ``---``."""
    parts: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip() == "---":
            parts.append([])
        else:
            parts[-1].append(line)
    texts = ("\n".join(p).strip() for p in parts)
    return [Outgoing(text=t) for t in texts if t]


def pause_active(turn: Turn) -> list[Outgoing]:
    """Set the current flow aside (it stays resumable) and say how to come back to it."""
    active = turn.conv.active_session()
    if active is None:
        return []
    turn.conv.set_active(None)
    return paused(turn, active)


def paused(turn: Turn, active: SessionRecord) -> list[Outgoing]:
    """« Le parcours X est mis en pause ; tapez /x pour le reprendre »."""
    flow = turn.flows.get(active.flow_id)
    if flow is None:
        return []
    return [turn.say("flow.paused_other", title=flow.title, command=flow.command)]
