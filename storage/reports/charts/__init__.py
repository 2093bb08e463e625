"""Charts (PNG) drawn from a summary, keyed by the summary name.

matplotlib is heavy to import (about 0.3 s); chart modules import it inside their
drawing function so that ``coopbot ask`` and ``coopbot chat`` start fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from storage.reports.charts.charte import charte_chart
from storage.reports.charts.facteurs import facteurs_chart

ChartFunc = Callable[[Mapping[str, Any]], bytes | None]
CHARTS: Mapping[str, ChartFunc] = {"charte": charte_chart, "facteurs": facteurs_chart}


def render_chart(summary_name: str, summary: Mapping[str, Any]) -> bytes | None:
    """PNG bytes of the chart for this summary, or ``None`` when it has none."""
    func = CHARTS.get(summary_name)
    return func(summary) if func and summary else None
