"""Answers as people read them: the option label rather than its stored value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flows.model import Flow, Step


def french_list(items: list[str], conjunction: str = "et") -> str:
    """« A, B et C »: items joined the French way (no comma before the last one).

    The one helper for lists people read: summaries, answer views, and the templates
    (filters ``french_list`` and ``labels`` of :mod:`storage.reports.render`)."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def join_labels(labels: list[str]) -> str:
    """Option labels as one phrase: a French list, no capital letter after the first one
    (« Élus, agents des collectivités et habitants »), acronyms kept (« ESS… »)."""
    def lower(label: str) -> str:
        return label[0].lower() + label[1:] if label[1:2].islower() else label

    return french_list([labels[0], *(lower(label) for label in labels[1:])] if labels else [])


def display_value(step: Step | None, value: Any, *, scale_number: bool = True) -> str:
    """The answer as a reader sees it: option labels rather than stored values, « Oui »
    or « Non », French decimals. A scale shows its number too (« 3 – Plutôt un levier »)
    unless ``scale_number`` is off (a note that lists labels only)."""
    if value is None:
        return ""
    if step is not None:
        if step.type == "scale" and isinstance(value, int) and 1 <= value <= len(step.options):
            label = step.options[value - 1].label
            return f"{value} – {label}" if scale_number else label
        if step.type in ("choice", "scale"):
            option = step.option(str(value))
            return option.label if option else _plain(value)
        if step.type == "multichoice":
            values = value if isinstance(value, list) else [value]
            return join_labels([(o.label if (o := step.option(str(v))) else str(v))
                                for v in values])
    return _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, list):
        return french_list([str(v) for v in value])
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:g}".replace(".", ",")
    return "" if value is None else str(value)


def answer_views(
    flow: Flow | None, answers: Iterable[tuple[str, Any, str | None]]
) -> list[dict[str, Any]]:
    """(step, value, comment) → dicts for templates, in the flow's order of steps."""
    order = {s.id: i for i, s in enumerate(flow.steps)} if flow else {}
    views = []
    for step_id, value, comment in answers:
        step = flow.step(step_id) if flow else None
        views.append(
            {
                "step": step_id,
                "ask": step.ask if step else step_id,
                "section": step.section if step else "",
                "value": value,
                "display": display_value(step, value),
                "comment": comment or "",
            }
        )
    views.sort(key=lambda v: order.get(v["step"], len(order)))
    return views


def views_from_state(
    flow: Flow, answers: Mapping[str, Any], comments: Mapping[str, str]
) -> list[dict[str, Any]]:
    return answer_views(flow, ((k, v, comments.get(k)) for k, v in answers.items()))
