"""Self-check against the four articles of the Charte de la participation du public.

Each answer on the ``charte`` scale counts 1 (Oui), 0.5 (En partie) or 0 (Non); « Je ne
sais pas » is left out of the score but counted, so a reader sees how much of an article
was actually assessed. Points, article titles and suggestions live in
``flows/definitions/charte.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.summaries.base import SummaryInput
from flows.summaries.shapes import CharteSummary
from flows.views import display_value

DEFAULT_POINTS: dict[int, float] = {1: 1.0, 2: 0.5, 3: 0.0}


def _points(meta: Mapping[str, Any]) -> tuple[dict[int, float], int]:
    raw = meta.get("points") or DEFAULT_POINTS
    return {int(k): float(v) for k, v in raw.items()}, int(meta.get("unknown") or 4)


def article_scores(data: SummaryInput) -> list[dict[str, Any]]:
    """One entry per article, in order: score in % (``None`` if nothing was assessed)."""
    flow, answers, comments = data.flow, data.answers, data.comments
    points, unknown = _points(flow.meta)
    articles: list[dict[str, Any]] = []
    for article in flow.meta.get("articles") or []:
        number = int(article["number"])
        steps = [s for s in flow.steps if int(s.meta.get("article") or 0) == number]
        total, scored, unknown_count = 0.0, 0, 0
        items: list[dict[str, Any]] = []
        for step in steps:
            value = answers.get(step.id)
            if isinstance(value, int) and value in points:
                total += points[value]
                scored += 1
            elif value == unknown:
                unknown_count += 1
            items.append(
                {
                    "step": step.id,
                    "label": str(step.meta.get("label") or step.ask),
                    "ask": step.ask,
                    "value": value,
                    "answer": display_value(step, value, scale_number=False) or None,
                    "comment": comments.get(step.id) or None,
                    "to_improve": isinstance(value, int) and value in points
                    and points[value] < 1.0,
                    "suggestion": str(step.meta.get("suggestion") or ""),
                }
            )
        articles.append(
            {
                "number": number,
                "title": str(article["title"]),
                "short": str(article.get("short") or article["title"]),
                "score": round(100 * total / scored) if scored else None,
                "assessed": scored,
                "unknown": unknown_count,
                "questions": len(steps),
                "items": items,
            }
        )
    return articles


def summarise_charte(data: SummaryInput) -> CharteSummary:
    """Per-article scores, the weakest article and what would strengthen it."""
    articles = article_scores(data)
    scored = [a for a in articles if a["score"] is not None]
    weakest = min(scored, key=lambda a: a["score"]) if scored else None
    if weakest is not None and weakest["score"] >= 100:
        weakest = None
    suggestions = (
        [
            {"label": i["label"], "answer": i["answer"], "suggestion": i["suggestion"]}
            for i in weakest["items"]
            if i["to_improve"] and i["suggestion"]
        ]
        if weakest
        else []
    )
    all_scores = [a["score"] for a in scored]
    return {
        "includes_answers": True,
        "title": data.flow.title,
        "projet": data.answers.get("projet"),
        "articles": articles,
        "overall": round(sum(all_scores) / len(all_scores)) if all_scores else None,
        "weakest": None
        if weakest is None
        else {"number": weakest["number"], "title": weakest["title"], "score": weakest["score"]},
        "suggestions": suggestions,
        "unknown": sum(a["unknown"] for a in articles),
        "chart": {str(k): str(v) for k, v in (data.flow.meta.get("chart") or {}).items()},
    }
