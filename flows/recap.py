"""The recap before the summary: every passed question, numbered, each one changeable.

Pure functions over a flow and the answers, kept apart from the engine's navigation:
which questions the recap lists (and under which number), how a typed reply at the
recap is read (« modifier 3 », « la 3 », « 3 », « valider »), and how a long answer is
shortened so a 25-question recap still fits a chat message.

No state of its own: a session is « at the recap » when every visible step has been
passed and it is still in progress, and « changing answer N » when the current step
comes before steps already passed. Both are derived from ``history`` and ``answers``,
so storage keeps nothing new and a resumed session lands where it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flows.folding import fold
from flows.model import Flow, Step

LABEL_MAX = 70
"""Characters of a question's name in the recap (the ``meta.label`` or the question)."""
ANSWER_MAX = 90
"""Characters of an answer in the recap: the full text stays in the summary and exports."""

_EDIT = re.compile(
    r"^(?:(?:modifier|modifie|modif|changer|change|corriger|corrige|revoir|refaire)\s+)?"
    r"(?:(?:la|le|l|question|reponse|numero|n|no)\s+)*(\d{1,3})$"
)
_VALIDATE = {"valider", "valide", "validez", "validation", "ok", "oui", "c est bon",
             "c'est bon", "terminer", "termine", "confirmer", "confirme", "je valide"}


@dataclass(frozen=True, slots=True)
class RecapItem:
    number: int
    step: Step
    value: Any
    comment: str
    answered: bool
    """False for a question passed with /passer: shown « (passée) », can be filled in."""


@dataclass(frozen=True, slots=True)
class Edit:
    number: int


@dataclass(frozen=True, slots=True)
class Validate:
    pass


def recap_items(flow: Flow, history: Iterable[str], answers: Mapping[str, Any],
                comments: Mapping[str, str]) -> tuple[RecapItem, ...]:
    """Passed steps in the flow's order, numbered from 1."""
    passed = set(history)
    items: list[RecapItem] = []
    for step in flow.steps:
        if step.id in passed:
            items.append(RecapItem(len(items) + 1, step, answers.get(step.id),
                                   comments.get(step.id, ""), step.id in answers))
    return tuple(items)


def number_of(flow: Flow, history: Iterable[str], step: Step) -> int:
    """The number ``step`` has (or will have again) in the recap."""
    passed = set(history)
    limit = flow.index(step.id)
    return 1 + sum(1 for s in flow.steps[:limit] if s.id in passed)


def in_flow_order(flow: Flow, history: tuple[str, ...], step_id: str) -> tuple[str, ...]:
    """``history`` with ``step_id`` in its place in the flow's order (at the end, but for
    an answer changed from the recap), so /retour from the recap goes to the last
    question."""
    kept = tuple(h for h in history if h != step_id)
    if not kept or flow.index(kept[-1]) < flow.index(step_id):
        return (*kept, step_id)
    position = flow.index(step_id)
    before = tuple(h for h in kept if flow.index(h) < position)
    return (*before, step_id, *kept[len(before):])


def still_asked(flow: Flow, history: tuple[str, ...], answers: Mapping[str, Any],
                comments: Mapping[str, str]
                ) -> tuple[tuple[str, ...], dict[str, Any], dict[str, str]] | None:
    """After a changed answer, the history and answers without the steps whose condition
    no longer holds (as /retour would have dropped them), so the recap and the summary
    only hold steps still asked; ``None`` when nothing is dropped."""
    kept, notes = dict(answers), dict(comments)
    dropped: set[str] = set()
    for step in flow.steps:
        if step.when and not step.visible(kept):
            if step.id in kept or step.id in history:
                dropped.add(step.id)
            kept.pop(step.id, None)
            notes.pop(step.id, None)
    if not dropped:
        return None
    return tuple(h for h in history if h not in dropped), kept, notes


def read_recap_reply(text: str) -> Edit | Validate | None:
    """« modifier 3 », « modifier la 3 », « 3 » → Edit(3); « valider » → Validate()."""
    folded = fold(text)
    if folded in _VALIDATE or folded.replace("'", " ") in _VALIDATE:
        return Validate()
    match = _EDIT.match(folded.replace("'", " ").replace("°", " ").strip())
    return Edit(int(match.group(1))) if match else None


def step_label(step: Step) -> str:
    """The short name of a question: its ``meta.label`` or factor, else the question."""
    label = step.meta.get("label") or step.meta.get("factor") or step.ask
    return shorten(str(label).strip(), LABEL_MAX)


def shorten(text: str, limit: int) -> str:
    """On one line, cut at a word before ``limit`` characters with « … »."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return f"{cut}…"
