"""Summaries: what a completed flow computes from its answers.

A summariser is a pure function registered under the flow's ``summary:`` name. It
returns a JSON-serialisable dict that is stored with the session, shown in chat by
``storage/reports/templates/chat/<name>.j2`` and in exports by
``storage/reports/templates/export/<name>.{md,html}.j2``. Modules of this package register
themselves with :func:`summariser` and are discovered at import time, so adding a
summary is adding one file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flows.model import Flow


@dataclass(frozen=True, slots=True)
class SummaryInput:
    flow: Flow
    answers: Mapping[str, Any]
    """Step id → value: str (text, choice), list[str] (multichoice), int (scale, 1-based),
    bool (yesno), int | float (number). Skipped steps are absent."""
    comments: Mapping[str, str]
    """Step id → comment typed after a number, for steps with ``comment: true``."""


Summariser = Callable[[SummaryInput], dict[str, Any]]
SUMMARISERS: dict[str, Summariser] = {}


def summariser(name: str) -> Callable[[Summariser], Summariser]:
    def register(func: Summariser) -> Summariser:
        SUMMARISERS[name] = func
        return func

    return register


def summarise(data: SummaryInput) -> dict[str, Any]:
    """The flow's summary, or ``{}`` when its flow names none."""
    func = SUMMARISERS.get(data.flow.summary)
    return func(data) if func else {}


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
