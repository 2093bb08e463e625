"""A workshop synthesis as a file: JSON, CSV, Markdown or self-contained HTML.

JSON is ``WorkshopSynthesis.to_json`` (keys documented in docs/workshops.md); the
CSV has one row per figure or text so a spreadsheet can filter it; Markdown and HTML
come from ``templates/workshop/``. What participants typed is escaped by each format.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flows.numbers import percent
from storage.reports.exports import MIME_TYPES, csv_safe
from storage.reports.qr import qr_svg_data_uri
from storage.reports.render import render
from storage.reports.synthesis_model import WorkshopSynthesis

FORMATS = ("md", "html", "csv", "json")
Texts = Callable[..., str]


@dataclass(frozen=True, slots=True)
class SynthesisDocument:
    filename: str
    content: bytes
    mime_type: str


def render_synthesis(synthesis: WorkshopSynthesis, fmt: str, texts: Texts,
                     charts: Sequence[tuple[str, str, bytes]] = (),
                     join_link: str | None = None) -> SynthesisDocument:
    """The synthesis as a file. ``charts`` (kind, title, PNG) are embedded in HTML only,
    each in its section (``categories``, ``factors``); so is ``join_link``, the
    invitation link, with its QR code, to project while the workshop is open."""
    if fmt == "json":
        text = json.dumps(synthesis.to_json(), ensure_ascii=False, indent=2)
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
    name = f"atelier-{synthesis.code}-synthese.{fmt}"
    return SynthesisDocument(name, text.encode("utf-8"), MIME_TYPES[fmt])


def synthesis_csv(s: WorkshopSynthesis, texts: Texts) -> str:
    """One row per figure or text: rubrique, question, catégorie, réponse, nombre, part."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")

    def row(*cells: Any) -> None:
        writer.writerow([csv_safe(c) for c in cells])

    row(*(texts(f"csv.{h}") for h in ("part", "question", "category", "answer", "count",
                                      "percent")))
    row(texts("csv.participants"), "", "", "", s.participants, "")
    for c in s.categories:
        row(texts("csv.by_category"), "", c.label, "", c.count,
            percent(c.count, s.participants))
    for q in s.questions:
        for d in q.distribution or ():
            row(texts("csv.answers"), q.ask, "", d.label, d.count, d.percent)
        if q.mean is not None:
            row(texts("csv.mean"), q.ask, "", "", str(q.mean).replace(".", ","), "")
        for t in q.texts or ():
            row(texts("csv.text"), q.ask, "", t, "", "")
        for t in q.comments:
            row(texts("csv.comment"), q.ask, "", t, "", "")
    if s.factors:
        labels = {c.id: c.label for c in s.factors.categories}
        for f in s.factors.families:
            row(texts("csv.factor"), f.label, texts("csv.all"), _num(f.score), f.ratings, "")
            for c, score in f.by_category.items():
                row(texts("csv.factor"), f.label, labels[c], _num(score), "", "")
    for t in s.expectations:
        row(texts("csv.expectation"), "", "", t, "", "")
    for t in s.obstacles:
        row(texts("csv.obstacle"), "", "", t, "", "")
    for group in s.agora:
        for t in group.asks:
            row(texts("csv.ask"), "", group.label, t, "", "")
        for t in group.commits:
            row(texts("csv.commit"), "", group.label, t, "", "")
    return "\ufeff" + out.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}".replace(".", ",")
