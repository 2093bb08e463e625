"""Chart of the Charte self-check: one horizontal bar per article, 0 to 100 %.

Four bars read better than a four-axis radar on a phone, and an article left
unassessed (only « Je ne sais pas ») is written as such, left-aligned at zero,
instead of being drawn as a zero score. Colours and sizes follow
``flows/charts/common.py`` so that Coopbot's charts look alike. Every word comes
from the summary, which takes it from ``charte.yaml``. matplotlib is imported
inside the drawing function (start-up time of ``coopbot chat``), and only its object
API (no pyplot: charts are drawn in parallel).
"""

from __future__ import annotations

from typing import Any

from storage.reports.charts.common import INK, MISSING, WIDTH_INCHES, _png, band_colour, figure

TICKS = (0, 25, 50, 75, 100)


def _draw(labels: list[str], scores: list[float | None], texts: dict[str, str]) -> bytes:
    n = len(labels)
    fig = figure(WIDTH_INCHES, 1.6 + 0.62 * n)
    ax = fig.add_subplot()
    ax.set_xlim(-2, 104)
    ax.set_ylim(n - 0.5, -0.7)
    for i, score in enumerate(scores):
        if score is None:
            ax.text(2, i, str(texts.get("missing") or ""), va="center", ha="left",
                    fontsize=13, color=MISSING, style="italic")
            continue
        colour = band_colour(score, 0, 100)
        ax.barh(i, max(score, 0.8), left=0, height=0.62, color=colour, edgecolor="white")
        label = f"{score:.0f} %"
        if score > 85:
            ax.text(score - 2, i, label, va="center", ha="right", fontsize=14,
                    fontweight="bold", color="white")
        else:
            ax.text(score + 2, i, label, va="center", ha="left", fontsize=14,
                    fontweight="bold", color=INK)
    ax.set_yticks(range(n))
    ax.set_yticklabels(labels, fontsize=14, color=INK)
    ax.tick_params(axis="y", length=0)
    ax.set_xticks(list(TICKS))
    ax.set_xticklabels([f"{t} %" for t in TICKS], fontsize=12, color=INK)
    ax.axvline(0, color=INK, linewidth=1.2)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    fig.suptitle(str(texts.get("title") or ""), fontsize=15, fontweight="bold", color=INK,
                 x=0.02, ha="left")
    fig.tight_layout()
    return _png(fig)


def charte_chart(summary: dict[str, Any]) -> bytes | None:
    """PNG of the four article scores, or None when no article could be scored."""
    articles = summary.get("articles") or []
    if not any(a.get("score") is not None for a in articles):
        return None
    labels = [str(a.get("short") or a.get("title")) for a in articles]
    scores = [a.get("score") for a in articles]
    texts = {str(k): str(v) for k, v in (summary.get("chart") or {}).items()}
    return _draw(labels, scores, texts)
