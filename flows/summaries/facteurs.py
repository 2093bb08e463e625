"""Summary of the factor self-check (``facteurs``).

Everything it needs is read from the flow definition, not hard-coded: a factor is
any scale step whose ``meta.family`` names a family; families, their labels and
their order come from the flow's ``meta.families``; the advice comes from each
step's ``meta.advice``. A content editor can therefore add, drop or reword a
factor in YAML and the summary follows. The result is a plain JSON-serialisable
dict, stored with the session and rendered by the ``facteurs`` templates and chart.

Scores: a rating is 1 (frein fort) to 4 (levier fort). A family's score is the
mean of its answered ratings, stated « sur une échelle de 1 à 4 »: a percentage beside
« 2,4 sur 4 » read as an error (2,4 / 4 is 60 %, the position on the scale 47 %), so the
texts give the score and its scale only; ``percent`` (1 → 0 %, 4 → 100 %) stays in the
data for the chart and for tools reading the JSON export. Skipped
factors are left out of every mean; a family with no answer has ``score: None``.
The overall score is the mean of all answered ratings (each factor weighs the same).
Scores are given to one decimal and percentages to the unit, both rounded half up
from the exact mean.

The three weakest factors come with their advice; every other factor rated « frein
fort » is listed in ``other_brakes`` (with its advice, for the export), so that a
fourth or fifth strong brake is never dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from flows.model import Flow, Step
from flows.numbers import mean, percent, rounded
from flows.summaries.base import SummaryInput
from flows.summaries.shapes import FacteursSummary
from flows.views import join_labels

WEAKEST_COUNT = 3


def summarise_facteurs(data: SummaryInput) -> FacteursSummary:
    flow = data.flow
    factors = _factor_steps(flow)
    families = _families(flow, factors)
    scale = _scale_labels(factors)
    top = len(scale) or 4
    family_order = {f["id"]: i for i, f in enumerate(families)}

    rated: list[dict[str, Any]] = []
    skipped: list[str] = []
    for position, step in enumerate(factors):
        rating = _rating(data.answers.get(step.id), len(step.options))
        if rating is None:
            skipped.append(str(step.meta.get("factor") or step.id))
            continue
        rated.append(_factor_entry(step, rating, data.comments, families, position))

    family_rows = []
    for family in families:
        mine = [r for r in rated if r["family"] == family["id"]]
        total = sum(1 for s in factors if s.meta.get("family") == family["id"])
        family_mean = mean([r["rating"] for r in mine])
        family_rows.append(
            {**family, "score": rounded(family_mean), "percent": _percent(family_mean, top),
             "answered": len(mine), "total": total}
        )

    overall = mean([r["rating"] for r in rated])
    by_weakness = sorted(
        rated, key=lambda r: (r["rating"], family_order.get(r["family"], 0), r["position"])
    )
    weakest = by_weakness[:WEAKEST_COUNT]
    weakest_ids = {r["step"] for r in weakest}
    other_brakes = [r for r in by_weakness[WEAKEST_COUNT:] if r["rating"] == 1]
    strengths = sorted(
        (r for r in rated if r["rating"] >= top - 1 and r["step"] not in weakest_ids),
        key=lambda r: (-r["rating"], family_order.get(r["family"], 0), r["position"]),
    )

    return {
        "role": _role(flow, data.answers),
        "project": _text(data.answers.get("projet")),
        "scale": scale,
        "scale_max": top,
        "families": family_rows,
        "overall": {
            "score": rounded(overall),
            "percent": _percent(overall, top),
            "answered": len(rated),
            "total": len(factors),
        },
        "weakest": [_public(r) for r in weakest],
        "other_brakes": [_public(r) for r in other_brakes],
        "other_brakes_text": join_labels([str(r["factor"]) for r in other_brakes]),
        "has_brakes": any(r["rating"] <= top // 2 for r in rated),
        "strengths": [_public(r) for r in strengths],
        "skipped": skipped,
        "comments": _comments(flow, data.comments),
        "chart": {
            "title": str(flow.meta.get("chart_title") or flow.title),
            "missing": str(flow.meta.get("chart_missing") or ""),
        },
    }


def _factor_steps(flow: Flow) -> list[Step]:
    return [s for s in flow.steps if s.type == "scale" and s.meta.get("family")]


def _families(flow: Flow, factors: list[Step]) -> list[dict[str, str]]:
    """Families in the order the flow declares them, then any others in step order."""
    declared = flow.meta.get("families") or []
    families: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in declared:
        if isinstance(item, Mapping) and item.get("id"):
            fid = str(item["id"])
            label = str(item.get("label") or fid)
            families.append({"id": fid, "label": label, "short": str(item.get("short") or label)})
            seen.add(fid)
    for step in factors:
        fid = str(step.meta["family"])
        if fid not in seen:
            label = step.section or fid
            families.append({"id": fid, "label": label, "short": label})
            seen.add(fid)
    return families


def _scale_labels(factors: list[Step]) -> list[str]:
    return [o.label for o in factors[0].options] if factors else []


def _rating(value: Any, size: int) -> int | None:
    """A stored scale answer, or None when skipped or not a valid rating."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= size else None


def _factor_entry(
    step: Step,
    rating: int,
    comments: Mapping[str, str],
    families: list[dict[str, str]],
    position: int,
) -> dict[str, Any]:
    family = str(step.meta["family"])
    label = next((f["label"] for f in families if f["id"] == family), family)
    return {
        "step": step.id,
        "family": family,
        "family_label": label,
        "factor": str(step.meta.get("factor") or step.id),
        "rating": rating,
        "rating_label": step.options[rating - 1].label,
        "advice": str(step.meta.get("advice") or ""),
        "comment": _text(comments.get(step.id)),
        "position": position,
    }


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "position"}


def _percent(score: Fraction | None, top: int) -> int | None:
    """1 → 0 %, top → 100 %, from the exact mean."""
    if score is None or top <= 1:
        return None
    return percent(score - 1, top - 1)


def _role(flow: Flow, answers: Mapping[str, Any]) -> dict[str, str] | None:
    value = answers.get("role")
    step = flow.step("role")
    if not isinstance(value, str) or step is None:
        return None
    option = step.option(value)
    return {"value": value, "label": option.label if option else value}


def _text(value: Any) -> str | None:
    """User text on one line: a line break typed in a comment must not split a chat
    bubble (``---``) or start a Markdown block in the summary."""
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _comments(flow: Flow, comments: Mapping[str, str]) -> list[dict[str, str]]:
    """Comments in question order, with the factor (or question) they belong to."""
    out: list[dict[str, str]] = []
    for step in flow.steps:
        text = _text(comments.get(step.id))
        if text:
            out.append({"step": step.id, "factor": str(step.meta.get("factor") or step.ask),
                        "comment": text})
    return out
