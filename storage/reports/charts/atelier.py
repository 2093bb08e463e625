"""Charts of a workshop synthesis: who is in the room, and the factor families.

Two PNGs for the facilitator's phone and the HTML page:
- participants per actor category: plain counts, one neutral colour (a count is
  neither a brake nor a lever, so the brake/lever colours would mislead);
- when factor questions were rated, the family means on the 1–4 scale, diverging
  from the midpoint like the personal ``facteurs`` chart, so both read alike.
Titles come from the caller's texts (``bot/workshop_texts.fr.yaml``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from storage.reports.charts.common import (
    INK,
    LEVIER_FORT,
    WIDTH_INCHES,
    _png,
    factor_family_bars,
    figure,
)
from storage.reports.synthesis_model import CategoryCount, FactorSummary, WorkshopSynthesis


def category_chart(categories: Sequence[CategoryCount], title: str) -> bytes | None:
    if not categories:
        return None
    n = len(categories)
    fig = figure(WIDTH_INCHES, 1.4 + 0.62 * n)
    ax = fig.add_subplot()
    counts = [c.count for c in categories]
    top = max(counts)
    ax.barh(range(n), counts, height=0.62, color=LEVIER_FORT, edgecolor="white")
    for i, count in enumerate(counts):
        ax.text(count + top * 0.02, i, str(count), va="center", ha="left", fontsize=14,
                fontweight="bold", color=INK)
    ax.set_yticks(range(n))
    ax.set_yticklabels([_wrap(c.label) for c in categories], fontsize=13, color=INK)
    ax.set_ylim(n - 0.5, -0.6)
    ax.set_xlim(0, top * 1.15 + 0.5)
    ax.set_xticks([])
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    fig.suptitle(title, fontsize=15, fontweight="bold", color=INK, x=0.02, ha="left")
    fig.tight_layout()
    return _png(fig)


def _wrap(label: str, width: int = 26) -> str:
    """Long category names on two lines rather than squeezing the bars."""
    if len(label) <= width:
        return label
    cut = label.rfind(" ", 0, width)
    cut = cut if cut > 0 else width
    return label[:cut] + "\n" + _wrap(label[cut:].strip(), width)


def factor_chart(factors: FactorSummary, title: str, missing: str) -> bytes | None:
    if not any(f.score is not None for f in factors.families):
        return None
    families = [{"short": f.short, "label": f.label, "id": f.id, "score": f.score}
                for f in factors.families]
    return factor_family_bars(families, title, list(factors.scale),
                              float(factors.scale_max or 4), missing)


def workshop_charts(synthesis: WorkshopSynthesis, texts: Callable[..., str]) -> (
    list[tuple[str, str, bytes]]
):
    """(kind, title, PNG), in reading order; kind is ``categories`` or ``factors``."""
    drawn: list[tuple[str, str, bytes]] = []
    title = texts("synthesis.chart_categories")
    png = category_chart(synthesis.categories, title)
    if png:
        drawn.append(("categories", title, png))
    factors = synthesis.factors
    if factors and factors.respondents:
        title = texts("synthesis.chart_factors")
        png = factor_chart(factors, title, texts("synthesis.chart_missing"))
        if png:
            drawn.append(("factors", title, png))
    return drawn
