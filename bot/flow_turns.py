"""Running a flow inside a conversation: start, resume, answer, navigate, complete.

The engine decides; this module loads and saves its state through the turn's
transaction and turns its outputs into messages.
"""

from __future__ import annotations

import logging
from typing import Any

from bot import privacy
from bot.messages import Attachment, Outgoing
from bot.payloads import StepButton
from bot.presenter import notice_text, question_message, step_help
from bot.turn import Turn
from flows import engine
from flows.charts import render_chart
from flows.engine import Completed, FlowState, Notice, Question, Transition
from flows.model import Flow
from flows.summaries import SummaryInput, summarise
from flows.views import views_from_state
from storage.render import has_template, render
from storage.repository import SessionRow

log = logging.getLogger(__name__)


async def start_flow(turn: Turn, flow: Flow, workshop_id: int | None = None,
                     preface: tuple[Outgoing, ...] = ()) -> list[Outgoing]:
    """Start the flow, or resume it where the person left it."""
    conv = turn.conv
    replies: list[Outgoing] = list(preface)
    replies[:0] = privacy.notice_once(turn)  # once per person, before their first answer
    active = await conv.active_session()
    if active is not None and (active.flow_id != flow.id or active.workshop_id != workshop_id):
        replies.extend(_paused(turn, active))
    existing = await conv.open_session_for(flow.id, workshop_id)
    if existing is not None:
        state = await conv.load(existing)
        conv.set_state(session_id=existing.id, choices=None)
        replies.append(turn.say("flow.resumed", title=flow.title))
        if state.version != flow.version:
            state = _upgrade(flow, state)
            await conv.save(existing, await conv.load(existing), state)
        return replies + await _apply(turn, existing, flow, engine.resume(flow, state))

    transition = engine.start(flow)
    row = await conv.create_session(transition.state, workshop_id)
    conv.set_state(session_id=row.id, choices=None)
    intro = turn.say("flow.started", title=flow.title).text
    if flow.intro:
        intro += "\n" + flow.intro.strip()
    replies.append(Outgoing(text=intro))
    return replies + await _apply(turn, row, flow, transition)


async def continue_flow(turn: Turn, row: SessionRow, action: str, text: str = "") -> (
    list[Outgoing]
):
    """``action``: answer, back, skip, cancel, help, resume."""
    flow = turn.flows.get(row.flow_id)
    if flow is None:
        # The flow file was removed: close the session rather than trap the person.
        row.status = "cancelled"
        turn.conv.set_state(session_id=None)
        return [turn.say("flow.cancelled")]
    before = await turn.conv.load(row)
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
            return [step_help(flow, q, turn.texts)] if q else [turn.say("flow.not_active")]
        case _:
            transition = engine.resume(flow, state)
    return await _apply(turn, row, flow, transition, before)


async def press_button(turn: Turn, row: SessionRow | None, button: StepButton) -> (
    list[Outgoing]
):
    flow = turn.flows.get(button.flow_id)
    if row is None or flow is None or row.flow_id != button.flow_id:
        if row is not None:
            return [turn.say("flow.stale_button"), *await continue_flow(turn, row, "resume")]
        return [turn.say("flow.stale_button_no_flow")]
    before = await turn.conv.load(row)
    state = _upgrade(flow, before) if before.version != flow.version else before
    current = engine.current_step(flow, state)
    if (
        button.version != flow.version
        or current is None
        or button.step_index >= len(flow.steps)
        or flow.steps[button.step_index].id != current.id
    ):
        return [turn.say("flow.stale_button"), *await continue_flow(turn, row, "resume")]
    if button.kind == "v":
        transition = engine.confirm_selection(flow, state, current.id)
    else:
        transition = engine.answer_option(flow, state, current.id, button.option)
    return await _apply(turn, row, flow, transition, before)


def _upgrade(flow: Flow, state: FlowState) -> FlowState:
    """A flow file changed under a session: keep answers, forget vanished steps' history."""
    known = {s.id for s in flow.steps}
    return FlowState(
        flow_id=state.flow_id,
        version=flow.version,
        history=tuple(h for h in state.history if h in known),
        answers=dict(state.answers),
        comments=dict(state.comments),
        status=state.status,
        selection=(),
    )


async def _apply(turn: Turn, row: SessionRow, flow: Flow, transition: Transition,
                 before: FlowState | None = None) -> list[Outgoing]:
    conv = turn.conv
    state = transition.state
    if before is not None and (transition.changed or before.version != state.version):
        await conv.save(row, before, state)
    replies: list[Outgoing] = []
    for output in transition.outputs:
        match output:
            case Notice():
                replies.append(Outgoing(text=notice_text(output, turn.texts)))
            case Question():
                replies.append(
                    question_message(flow, output, turn.texts, can_go_back=bool(state.history))
                )
            case Completed():
                replies.extend(await _complete(turn, row, flow, state))
    if state.status != "in_progress":
        conv.set_state(session_id=None)
    return replies


async def _complete(turn: Turn, row: SessionRow, flow: Flow, state: FlowState) -> (
    list[Outgoing]
):
    data = SummaryInput(flow=flow, answers=state.answers, comments=state.comments)
    summary = summarise(data)
    await turn.conv.save_summary(row, summary)
    replies = [turn.say("flow.completed")]
    if flow.outro:
        replies.append(Outgoing(text=flow.outro.strip()))
    summary_bubbles = summary_messages(flow, summary, state)
    replies.extend(summary_bubbles)
    if not summary_bubbles:
        replies.append(turn.say("flow.export_hint"))
    if summary and flow.summary:
        turn.after_commit.append(lambda: chart_messages(flow, summary))
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


async def pause_active(turn: Turn) -> list[Outgoing]:
    """Set the current flow aside (it stays resumable) and say how to come back to it."""
    active = await turn.conv.active_session()
    if active is None:
        return []
    turn.conv.set_state(session_id=None)
    return _paused(turn, active)


def _paused(turn: Turn, active: SessionRow) -> list[Outgoing]:
    """« Le parcours X est mis en pause ; tapez /x pour le reprendre »."""
    flow = turn.flows.get(active.flow_id)
    if flow is None:
        return []
    return [turn.say("flow.paused_other", title=flow.title, command=flow.command)]


def chart_messages(flow: Flow, summary: dict[str, Any]) -> list[Outgoing]:
    try:
        png = render_chart(flow.summary, summary)
    except Exception:  # a chart is a bonus: never lose the conversation over it
        log.exception("chart rendering failed for flow %s", flow.id)
        return []
    if not png:
        return []
    image = Attachment(f"{flow.id}-synthese.png", png, "image/png", flow.title)
    return [Outgoing(image=image)]
