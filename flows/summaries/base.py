"""What a summariser receives: the completed flow, its answers and comments."""

from __future__ import annotations

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


Summariser = Callable[[SummaryInput], Mapping[str, Any]]
"""Returns one of the shapes of :mod:`flows.summaries.shapes`."""
