"""A workshop's synthesis: what the room answered, aggregated, with nobody's name.

``build_synthesis`` turns the participants' answers into a plain dict (the JSON
format, and the context of the Markdown, HTML and chat templates):

- ``participants`` and ``by_category`` (actor category → count, in the order of the
  category question's options; ``non_precise`` for people who have not said yet);
- ``questions``: the distribution of each answer (count and share of those who
  answered), the mean of scales and numbers, the texts written for open questions;
- ``factors``: per family, the mean rating overall and per category, when the
  questionnaire includes factor questions (scale steps with ``meta.family``);
- ``expectations`` and ``obstacles``: verbatim texts;
- ``agora``: per category, what it asks of the others and what it would commit to.

Which question is which comes from the flow's ``meta.workshop`` (see
``flows/definitions/atelier.yaml``); a flow without it (``facteurs``) still works:
its ``role`` question gives the category. Texts are sorted alphabetically, never in
the order people answered, so that their order says nothing about who wrote them.
Everything participants typed stays raw here and is escaped by each renderer.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from flows.model import Flow, Step
from flows.views import display_value
from storage.protocols import WorkshopStore
from storage.records import Participation, WorkshopRecord
from storage.reports.exports import MIME_TYPES, csv_safe
from storage.reports.qr import qr_svg_data_uri
from storage.reports.render import render
from storage.workshop_codes import display_code

UNKNOWN = "non_precise"
FORMATS = ("md", "html", "csv", "json")
Texts = Callable[..., str]


def _round(value: Fraction | None, digits: int = 1) -> float | None:
    if value is None:
        return None
    quantum = Decimal(1).scaleb(-digits)
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(quantum, rounding=ROUND_HALF_UP))


def _percent(part: int, whole: int) -> int:
    if whole == 0:
        return 0
    return int(Decimal(100 * part / whole).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _mean(values: Sequence[int | float]) -> Fraction | None:
    return Fraction(sum(Fraction(v) for v in values), len(values)) if values else None


def _texts(values: Iterable[Any]) -> list[str]:
    """Non-empty texts, sorted so that their order reveals nothing."""
    found = [" ".join(str(v).split()) for v in values if isinstance(v, str) and v.strip()]
    return sorted(found, key=lambda t: (t.casefold(), t))


def category_step(flow: Flow) -> Step | None:
    wanted = (flow.meta.get("workshop") or {}).get("category_step")
    for step_id in ([wanted] if wanted else []) + ["categorie", "role"]:
        step = flow.step(str(step_id))
        if step is not None and step.type == "choice":
            return step
    return None


@dataclass(frozen=True, slots=True)
class WorkshopInfo:
    code: str
    title: str
    status: str
    created_at: datetime
    closes_at: datetime | None = None


def build_synthesis(info: WorkshopInfo, flow: Flow, people: Sequence[Participation],
                    unknown_label: str) -> dict[str, Any]:
    cat_step = category_step(flow)
    categories = [(o.value, o.label) for o in cat_step.options] if cat_step else []

    def category_of(p: Participation) -> str:
        value = p.answers.get(cat_step.id) if cat_step else None
        return str(value) if value in {c for c, _ in categories} else UNKNOWN

    counts: dict[str, int] = {}
    for person in people:
        key = category_of(person)
        counts[key] = counts.get(key, 0) + 1
    labels = dict(categories) | {UNKNOWN: unknown_label}
    order = [c for c, _ in categories] + [UNKNOWN]
    present = [c for c in order if counts.get(c)]

    roles = flow.meta.get("workshop") or {}
    asks_step, commits_step = roles.get("asks"), roles.get("commits")
    special = {*(roles.get("expectations") or []), *(roles.get("obstacles") or []),
               asks_step, commits_step}

    return {
        "code": info.code,
        "title": info.title,
        "flow": flow.id,
        "flow_title": flow.title,
        "status": info.status,
        "created_at": info.created_at.isoformat(),
        "closes_at": info.closes_at.isoformat() if info.closes_at else None,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "participants": len(people),
        "completed": sum(1 for p in people if p.status == "completed"),
        "by_category": {c: counts[c] for c in present},
        "categories": [{"id": c, "label": labels[c], "count": counts[c]} for c in present],
        "questions": [_question(flow, step, people, verbatim_only=step.id in special)
                      for step in flow.steps],
        "factors": _factors(flow, people, present, labels, category_of),
        "expectations": _texts(p.answers.get(s) for p in people
                               for s in roles.get("expectations") or []),
        "obstacles": _texts(p.answers.get(s) for p in people
                            for s in roles.get("obstacles") or []),
        "agora": [
            {"category": c, "label": labels[c], "count": counts[c],
             "asks": _texts(p.answers.get(asks_step) for p in people
                            if category_of(p) == c) if asks_step else [],
             "commits": _texts(p.answers.get(commits_step) for p in people
                               if category_of(p) == c) if commits_step else []}
            for c in present
        ] if (asks_step or commits_step) else [],
    }


def _question(flow: Flow, step: Step, people: Sequence[Participation],
              verbatim_only: bool) -> dict[str, Any]:
    values = [p.answers[step.id] for p in people if step.id in p.answers]
    entry: dict[str, Any] = {"step": step.id, "ask": step.ask, "section": step.section,
                             "type": step.type, "answered": len(values)}
    if step.type in ("choice", "multichoice", "scale"):
        tally: dict[str, int] = {o.value: 0 for o in step.options}
        for value in values:
            chosen = value if isinstance(value, list) else [value]
            for v in chosen:
                tally[str(v)] = tally.get(str(v), 0) + 1
        entry["distribution"] = [
            {"value": v, "label": _option_label(flow, step, v), "count": n,
             "percent": _percent(n, len(values))}
            for v, n in tally.items()
        ]
    elif step.type == "yesno":
        yes = sum(1 for v in values if v is True)
        entry["distribution"] = [
            {"value": True, "label": display_value(step, True), "count": yes,
             "percent": _percent(yes, len(values))},
            {"value": False, "label": display_value(step, False),
             "count": len(values) - yes, "percent": _percent(len(values) - yes, len(values))},
        ]
    if step.type in ("scale", "number"):
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        entry["mean"] = _round(_mean(numbers))
    if step.type == "number":
        entry["values"] = sorted(v for v in values if isinstance(v, int | float))
    if step.type == "text":
        entry["texts"] = [] if verbatim_only else _texts(values)
        entry["verbatim_elsewhere"] = verbatim_only
    comments = _texts(p.comments.get(step.id) for p in people)
    if comments:
        entry["comments"] = comments
    return entry


def _option_label(flow: Flow, step: Step, value: str) -> str:
    if step.type == "scale":
        return step.options[int(value) - 1].label if value.isdigit() and (
            1 <= int(value) <= len(step.options)) else value
    option = step.option(value)
    return option.label if option else value


def _factors(flow: Flow, people: Sequence[Participation], present: list[str],
             labels: dict[str, str], category_of: Callable[[Participation], str]) -> (
    dict[str, Any] | None
):
    factors = [s for s in flow.steps if s.type == "scale" and s.meta.get("family")]
    if not factors:
        return None
    declared = [f for f in flow.meta.get("families") or [] if isinstance(f, dict) and f.get("id")]
    families = [(str(f["id"]), str(f.get("label") or f["id"]), str(f.get("short") or f["id"]))
                for f in declared]
    for step in factors:
        if step.meta["family"] not in {f[0] for f in families}:
            families.append((str(step.meta["family"]), step.section, step.section))
    top = len(factors[0].options)

    def ratings(group: Iterable[Participation], steps: Iterable[Step]) -> list[int]:
        steps = list(steps)
        return [v for p in group for s in steps
                if isinstance(v := p.answers.get(s.id), int) and not isinstance(v, bool)
                and 1 <= v <= len(s.options)]

    rows = []
    for fid, label, short in families:
        mine = [s for s in factors if s.meta["family"] == fid]
        if not mine:
            continue
        overall = ratings(people, mine)
        rows.append({
            "id": fid, "label": label, "short": short,
            "score": _round(_mean(overall)), "ratings": len(overall),
            "by_category": {c: _round(_mean(ratings(
                [p for p in people if category_of(p) == c], mine))) for c in present},
        })
    items = []
    for step in factors:
        rated = ratings(people, [step])
        items.append({"step": step.id, "factor": str(step.meta.get("factor") or step.id),
                      "family": step.meta["family"], "score": _round(_mean(rated)),
                      "ratings": len(rated)})
    everyone = ratings(people, factors)
    return {
        "scale": [o.label for o in factors[0].options],
        "scale_max": top,
        "families": rows,
        "items": items,
        "overall": _round(_mean(everyone)),
        "respondents": sum(1 for p in people if ratings([p], factors)),
        "categories": [{"id": c, "label": labels[c]} for c in present],
    }


# --- documents -------------------------------------------------------------------------------


def workshop_synthesis(store: WorkshopStore, workshop: WorkshopRecord,
                       flows: Mapping[str, Flow], unknown_label: str) -> dict[str, Any] | None:
    """The synthesis of a workshop (the caller has checked the right to read it)."""
    flow = flows.get(workshop.flow_id)
    if flow is None:
        return None
    info = WorkshopInfo(display_code(workshop.code), workshop.title, workshop.status,
                        workshop.created_at, workshop.closes_at)
    return build_synthesis(info, flow, store.participations(workshop.id), unknown_label)


@dataclass(frozen=True, slots=True)
class SynthesisDocument:
    filename: str
    content: bytes
    mime_type: str


def render_synthesis(synthesis: dict[str, Any], fmt: str, texts: Texts,
                     charts: Sequence[tuple[str, str, bytes]] = (),
                     join_link: str | None = None) -> SynthesisDocument:
    """The synthesis as a file. ``charts`` (kind, title, PNG) are embedded in HTML only,
    each in its section (``categories``, ``factors``); so is ``join_link``, the
    invitation link, with its QR code, to project while the workshop is open."""
    if fmt == "json":
        text = json.dumps(synthesis, ensure_ascii=False, indent=2)
    elif fmt == "csv":
        text = synthesis_csv(synthesis, texts)
    elif fmt == "md":
        text = render("workshop/synthesis.md.j2", s=synthesis)
    elif fmt == "html":
        images = {kind: {"title": t, "b64": base64.b64encode(png).decode()}
                  for kind, t, png in charts}
        join_qr = qr_svg_data_uri(join_link) if join_link else None
        text = render("workshop/synthesis.html.j2", s=synthesis, charts=images,
                      join_link=join_link, join_qr=join_qr)
    else:
        raise ValueError(fmt)
    name = f"atelier-{synthesis['code']}-synthese.{fmt}"
    return SynthesisDocument(name, text.encode("utf-8"), MIME_TYPES[fmt])


def synthesis_csv(s: dict[str, Any], texts: Texts) -> str:
    """One row per figure or text: rubrique, question, catégorie, réponse, nombre, part."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")

    def row(*cells: Any) -> None:
        writer.writerow([csv_safe(c) for c in cells])

    row(*(texts(f"csv.{h}") for h in ("part", "question", "category", "answer", "count",
                                      "percent")))
    row(texts("csv.participants"), "", "", "", s["participants"], "")
    for c in s["categories"]:
        row(texts("csv.by_category"), "", c["label"], "", c["count"],
            _percent(c["count"], s["participants"]))
    for q in s["questions"]:
        for d in q.get("distribution", []):
            row(texts("csv.answers"), q["ask"], "", d["label"], d["count"], d["percent"])
        if q.get("mean") is not None:
            row(texts("csv.mean"), q["ask"], "", "", str(q["mean"]).replace(".", ","), "")
        for t in q.get("texts", []):
            row(texts("csv.text"), q["ask"], "", t, "", "")
        for t in q.get("comments", []):
            row(texts("csv.comment"), q["ask"], "", t, "", "")
    factors = s.get("factors")
    if factors:
        labels = {c["id"]: c["label"] for c in factors["categories"]}
        for f in factors["families"]:
            row(texts("csv.factor"), f["label"], texts("csv.all"), _num(f["score"]),
                f["ratings"], "")
            for c, score in f["by_category"].items():
                row(texts("csv.factor"), f["label"], labels[c], _num(score), "", "")
    for t in s["expectations"]:
        row(texts("csv.expectation"), "", "", t, "", "")
    for t in s["obstacles"]:
        row(texts("csv.obstacle"), "", "", t, "", "")
    for group in s["agora"]:
        for t in group["asks"]:
            row(texts("csv.ask"), "", group["label"], t, "", "")
        for t in group["commits"]:
            row(texts("csv.commit"), "", group["label"], t, "", "")
    return "\ufeff" + out.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}".replace(".", ",")
