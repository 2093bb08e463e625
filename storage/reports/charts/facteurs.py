"""Chart of the factor self-check: one bar per family, diverging from the midpoint.

Bars start at the middle of the 1–4 scale (2,5, between « plutôt un frein » and
« plutôt un levier »), so a family that brakes the project points left in
red-orange and one that carries it points right in blue; the mean is written on
each bar. Bars read better than a radar on a phone and show a family that was
not assessed plainly instead of drawing it as a zero. All words come from the
summary (which takes them from the flow file).
"""

from __future__ import annotations

from typing import Any

from storage.reports.charts.common import factor_family_bars


def facteurs_chart(summary: dict[str, Any]) -> bytes | None:
    """PNG of the family scores, or None when no factor was rated."""
    families = summary.get("families") or []
    if not any(f.get("score") is not None for f in families):
        return None
    scale = summary.get("scale") or []
    top = float(summary.get("scale_max") or 4)
    texts = summary.get("chart") or {}
    return factor_family_bars(families, str(texts.get("title") or ""), scale, top,
                              str(texts.get("missing") or ""))
