"""A person's sessions and summaries as Markdown, HTML, CSV or JSON.

JSON follows the schema of DESIGN.md (other tools read it). HTML is one
self-contained page (styles and charts inline) that prints well. What users
typed is escaped in every format: autoescape for HTML, a Markdown escape filter,
and a leading apostrophe for CSV cells a spreadsheet would read as a formula.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flows.model import Flow
from flows.views import answer_views
from storage.records import SessionRecord
from storage.reports.charts import render_chart
from storage.reports.charts.alt import chart_alt
from storage.reports.render import has_template, render

EXPORT_FORMATS = ("md", "html", "csv", "json")
MIME_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|", "%")


@dataclass(frozen=True, slots=True)
class ExportDocument:
    filename: str
    content: bytes
    mime_type: str


def session_dict(record: SessionRecord, flow: Flow | None) -> dict[str, Any]:
    return {
        "id": record.id,
        "flow": record.flow_id,
        "title": flow.title if flow else record.flow_id,
        "status": record.status,
        "started_at": record.started_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "answers": answer_views(flow, ((step, a.value, a.comment)
                                       for step, a in record.answers.items())),
        "summary": dict(record.summary or {}),
    }


def export_json(user: str, records: Sequence[SessionRecord], flows: dict[str, Flow]) -> str:
    sessions = []
    for record in records:
        full = session_dict(record, flows.get(record.flow_id))
        full["answers"] = [
            {"step": a["step"], "value": a["value"], **({"comment": a["comment"]}
                                                       if a["comment"] else {})}
            for a in full["answers"]
        ]
        del full["title"]
        sessions.append(full)
    return json.dumps({"user": user, "sessions": sessions}, ensure_ascii=False, indent=2)


def csv_safe(value: Any) -> str:
    """A cell a spreadsheet will show as text, never evaluate."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_csv(user: str, records: Sequence[SessionRecord], flows: dict[str, Flow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(["utilisateur", "session", "parcours", "statut", "question_id", "question",
                     "reponse", "valeur", "commentaire", "date"])
    for record in records:
        flow = flows.get(record.flow_id)
        dates = {step: a.at for step, a in record.answers.items()}
        for view in session_dict(record, flow)["answers"]:
            value = view["value"]
            raw = json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value
            writer.writerow([csv_safe(c) for c in (
                user, record.id, record.flow_id, record.status, view["step"], view["ask"],
                view["display"], raw, view["comment"], dates.get(view["step"], ""),
            )])
    return "\ufeff" + out.getvalue()  # BOM: Excel then reads the accents right


def _document(fmt: str, user: str, records: Sequence[SessionRecord],
              flows: dict[str, Flow]) -> str:
    sessions = []
    for record in records:
        flow = flows.get(record.flow_id)
        data = session_dict(record, flow)
        chart, alt = None, ""
        if fmt == "html" and flow and flow.summary and record.summary:
            png = render_chart(flow.summary, record.summary)
            chart = base64.b64encode(png).decode() if png else None
            alt = chart_alt(flow.summary, record.summary) if png else ""
        fragment = f"export/{flow.summary}.{fmt}.j2" if flow and flow.summary else ""
        sessions.append({
            "session": data,
            "flow": flow,
            "fragment": fragment if fragment and has_template(fragment) and record.summary
            else "",
            "chart_png_b64": chart,
            "chart_alt": alt,
        })
    return render(
        f"export/document.{fmt}.j2",
        user=user,
        sessions=sessions,
        generated_at=datetime.now(UTC).strftime("%d/%m/%Y %H:%M UTC"),
    )


def build_export(records: Sequence[SessionRecord], flows: dict[str, Flow], fmt: str,
                 user: str) -> ExportDocument:
    if fmt == "json":
        text = export_json(user, records, flows)
    elif fmt == "csv":
        text = export_csv(user, records, flows)
    elif fmt in ("md", "html"):
        text = _document(fmt, user, records, flows)
    else:
        raise ValueError(fmt)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return ExportDocument(f"coopbot-{stamp}.{fmt}", text.encode("utf-8"), MIME_TYPES[fmt])
