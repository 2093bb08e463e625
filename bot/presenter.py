"""How engine outputs look in a chat: questions with their progress and buttons.

Kept apart from the core so that the wording and layout of a question can change
without touching the conversation logic, and so channels never format questions
themselves.
"""

from __future__ import annotations

from bot.messages import Choice, Outgoing
from bot.payloads import StepButton
from bot.texts import Texts
from flows.engine import Notice, Question
from flows.model import Flow
from flows.recap import ANSWER_MAX, shorten
from flows.views import display_value


def question_message(flow: Flow, q: Question, texts: Texts, can_go_back: bool) -> Outgoing:
    step = q.step
    if q.revisit:
        header = texts("flow.recap.revisit_header", number=q.revisit)
    elif step.section:
        header = texts("question_header", section=step.section, position=q.position,
                       total=q.total)
    else:
        header = texts("question_header_nosection", position=q.position, total=q.total)
    index = flow.index(step.id)
    choices, text = _static_parts(flow, index, texts)
    if q.revisit:
        text = f"{_current_line(q, texts)}\n{text}"  # the question last
    if step.type == "multichoice":  # labels follow the ticks: built every time
        choices = tuple(
            Choice(
                texts("label_selected", label=o.label) if o.value in q.selection else o.label,
                StepButton("t", flow.id, flow.version, index, i).encode(),
            )
            for i, o in enumerate(step.options, start=1)
        )
    actions: list[Choice] = []
    if step.type == "multichoice" and q.selection:
        actions.append(
            Choice(texts("label_validate"),
                   StepButton("v", flow.id, flow.version, index, 0).encode())
        )
    if q.revisit:
        actions.append(Choice(texts("flow.recap.label_back"), "/retour"))
    elif can_go_back:
        actions.append(Choice(texts("label_back"), "/retour"))
    if step.optional:
        actions.append(Choice(texts("label_skip"), "/passer"))
    return Outgoing(text=f"{header}\n{text}", choices=choices, actions=tuple(actions))


def _current_line(q: Question, texts: Texts) -> str:
    """« Réponse actuelle : … » under a question asked again from the recap."""
    if q.current is None:
        return texts("flow.recap.revisit_none")
    shown = shorten(display_value(q.step, q.current), ANSWER_MAX)
    return texts("flow.recap.revisit_current", answer=shown)


_STATIC: dict[tuple[int, int, int], tuple[Flow, Texts, tuple[Choice, ...], str]] = {}
"""What a question shows that never changes (its buttons, its text and hint), per flow
object, step and catalogue: built once instead of at every message. Each entry holds
its flow and catalogue, so their ``id`` cannot be reused while the entry exists."""
_STATIC_MAX = 2048


def _static_parts(flow: Flow, index: int, texts: Texts) -> tuple[tuple[Choice, ...], str]:
    key = (id(flow), index, id(texts))
    entry = _STATIC.get(key)
    if entry is None or entry[0] is not flow or entry[1] is not texts:
        if len(_STATIC) >= _STATIC_MAX:  # flows reloaded many times (tests): start afresh
            _STATIC.clear()
        entry = (flow, texts, _buttons(flow, index, texts), _static_text(flow, index, texts))
        _STATIC[key] = entry
    return entry[2], entry[3]


def _buttons(flow: Flow, index: int, texts: Texts) -> tuple[Choice, ...]:
    step = flow.steps[index]
    match step.type:
        case "choice" | "scale":
            return tuple(
                Choice(o.label, StepButton("o", flow.id, flow.version, index, i).encode())
                for i, o in enumerate(step.options, start=1)
            )
        case "yesno":
            return tuple(
                Choice(texts(label), StepButton("o", flow.id, flow.version, index, i).encode())
                for i, label in ((1, "label_yes"), (2, "label_no"))
            )
    return ()


def _static_text(flow: Flow, index: int, texts: Texts) -> str:
    """The question and the hint under it."""
    step = flow.steps[index]
    hint = ""
    match step.type:
        case "choice" | "scale":
            if step.comment:
                # The example must fit the flow's scale: « 2 peu de contacts » reads
                # right for frein/levier, not for Oui/En partie/Non (meta.comment_example).
                example = flow.meta.get("comment_example") or texts("hint_comment_example")
                hint = texts("hint_choice_comment", max=len(step.options), example=example)
            else:
                hint = texts("hint_choice", max=len(step.options))
        case "multichoice":
            hint = texts("hint_multichoice")
        case "yesno":
            hint = texts("hint_yesno")
        case "number":
            if step.min is not None and step.max is not None:
                hint = texts("hint_number_range", min=_num(step.min), max=_num(step.max))
            else:
                hint = texts("hint_number")
    return f"{step.ask}\n{hint}" if hint else step.ask


def notice_text(notice: Notice, texts: Texts) -> str:
    return texts(notice.key, **notice.params)


def step_help(flow: Flow, q: Question, texts: Texts) -> Outgoing:
    step = q.step
    body = texts("help_step", help=step.help) if step.help else texts("help_step_none")
    options_help = [f"- {o.label} : {o.help}" for o in step.options if o.help]
    skip = texts("help_step_skip") if step.optional else ""
    parts = [body, *options_help, texts("help_step_commands", skip=skip)]
    return Outgoing(text="\n".join(parts))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
