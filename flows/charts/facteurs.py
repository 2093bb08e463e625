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

from flows.charts import chart
from flows.charts.common import Bar, horizontal_bars


@chart("facteurs")
def facteurs_chart(summary: dict[str, Any]) -> bytes | None:
    """PNG of the family scores, or None when no factor was rated."""
    families = summary.get("families") or []
    if not any(f.get("score") is not None for f in families):
        return None
    scale = summary.get("scale") or []
    top = float(summary.get("scale_max") or 4)
    texts = summary.get("chart") or {}
    bars = [Bar(str(f.get("short") or f.get("label") or f.get("id")), f.get("score"))
            for f in families]
    return horizontal_bars(
        bars,
        title=str(texts.get("title") or ""),
        low=1.0,
        high=top,
        origin=(1.0 + top) / 2,
        ticks=[float(t) for t in range(1, int(top) + 1)],
        low_label=str(scale[0]) if scale else "",
        high_label=str(scale[-1]) if scale else "",
        missing_label=str(texts.get("missing") or ""),
    )
