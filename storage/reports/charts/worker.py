"""What runs inside a chart process: matplotlib loaded once, charts drawn at low priority.

The forkserver preloads this module (see :mod:`storage.reports.charts.pool`), so
matplotlib's import (about 0.3 s) is paid once by the server and every worker forked
from it starts ready to draw.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

# Imported here, not for use here: preloading them is the reason of this module.
import matplotlib.backends.backend_agg
import matplotlib.figure  # noqa: F401

from storage.reports.charts import render_chart

NICENESS = 10
"""Charts are a bonus that may come a moment later; replies may not. At a lower
priority a worker takes only the CPU the event loop leaves."""


def start_worker() -> None:
    """Initializer of each chart process."""
    with contextlib.suppress(OSError):  # not permitted here: the chart is drawn anyway
        os.nice(NICENESS)


def draw(kind: str, data: Mapping[str, Any]) -> bytes | None:
    return render_chart(kind, data)


def ready() -> bool:
    """A task that draws nothing: submitted by ``ChartPool.warm`` to start a process."""
    return True
