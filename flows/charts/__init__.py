"""Charts (PNG) drawn from a summary, keyed by the summary name.

matplotlib is heavy to import (about 0.3 s); chart modules import it inside their
drawing function so that ``coopbot ask`` and ``coopbot chat`` start fast. Modules
of this package register with :func:`chart` and are discovered on first use.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

ChartFunc = Callable[[dict[str, Any]], bytes | None]
CHARTS: dict[str, ChartFunc] = {}
_discovered = False


def chart(name: str) -> Callable[[ChartFunc], ChartFunc]:
    def register(func: ChartFunc) -> ChartFunc:
        CHARTS[name] = func
        return func

    return register


def render_chart(summary_name: str, summary: dict[str, Any]) -> bytes | None:
    """PNG bytes of the chart for this summary, or ``None`` when it has none."""
    global _discovered
    if not _discovered:
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")
        _discovered = True
    func = CHARTS.get(summary_name)
    return func(summary) if func and summary else None
