"""How the recap looks in a chat: numbered answers, a « Modifier N » button each,
« Valider » and « Retour » at the end.

The recap of the longest flows (25 questions) must fit a chat message: labels and
answers are shortened (the summary and exports keep them whole), and a recap longer
than :data:`BUBBLE_MAX` is cut between lines into several bubbles, the buttons under
the last one. Text channels do not repeat the buttons as a list (``listed``): the
recap already numbers its lines, and a typed number is read as « modifier N ».
"""

from __future__ import annotations

from bot.messages import Choice, Outgoing
from bot.payloads import StepButton
from bot.texts import Texts
from flows.engine import Recap
from flows.model import Flow
from flows.recap import ANSWER_MAX, RecapItem, shorten, step_label
from flows.views import display_value

BUBBLE_MAX = 3500
"""Characters of one recap bubble: under Telegram's 4,096 once escaped as HTML and with
the typography's no-break spaces."""


def recap_messages(flow: Flow, recap: Recap, texts: Texts) -> list[Outgoing]:
    lines = [_line(item, texts) for item in recap.items]
    how = texts("flow.recap.how")
    bubbles: list[list[str]] = [[texts("flow.recap.title")]]
    for line in lines:
        if sum(len(t) + 1 for t in bubbles[-1]) + len(line) > BUBBLE_MAX:
            bubbles.append([texts("flow.recap.title_continued")])
        bubbles[-1].append(line)
    if sum(len(t) + 1 for t in bubbles[-1]) + len(how) + 1 > BUBBLE_MAX:
        bubbles.append([])
    bubbles[-1].extend(["", how])
    choices = tuple(
        Choice(texts("flow.recap.label_edit", number=item.number),
               StepButton("e", flow.id, flow.version, flow.index(item.step.id)).encode())
        for item in recap.items
    )
    actions = (
        Choice(texts("flow.recap.label_validate"),
               StepButton("f", flow.id, flow.version, 0).encode()),
        Choice(texts("label_back"), "/retour"),
    )
    replies = [Outgoing(text="\n".join(b).strip()) for b in bubbles[:-1]]
    replies.append(Outgoing(text="\n".join(bubbles[-1]).strip(), choices=choices,
                            actions=actions, listed=True))
    return replies


def _line(item: RecapItem, texts: Texts) -> str:
    label = step_label(item.step)
    key = "flow.recap.line_question" if label.endswith("?") else "flow.recap.line"
    return texts(key, number=item.number, label=label, answer=_answer(item, texts))


def _answer(item: RecapItem, texts: Texts) -> str:
    if not item.answered:
        return texts("flow.recap.skipped")
    shown = display_value(item.step, item.value)
    if item.comment:
        shown = f"{shown} ({item.comment})"
    return shorten(shown, ANSWER_MAX)

