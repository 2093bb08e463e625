"""Flow definitions as typed, immutable values.

A flow is declared in YAML (``flows/definitions/*.yaml``, read by
:mod:`flows.loader`) so that a content editor can change a question without
touching code, and so that ``coopbot check`` can validate every flow without
running it. See ``flows/definitions/README.md`` for the format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

StepType = Literal["text", "choice", "multichoice", "scale", "yesno", "number"]
STEP_TYPES: tuple[str, ...] = ("text", "choice", "multichoice", "scale", "yesno", "number")
TEXT_MAX_DEFAULT = 2000


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str
    help: str = ""


@dataclass(frozen=True, slots=True)
class Condition:
    """``when:`` of a step: shown only if an earlier answer matches."""

    step: str
    is_in: tuple[str, ...] = ()
    not_in: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    answered: bool | None = None

    def holds(self, answers: dict[str, Any]) -> bool:
        if self.step not in answers:
            return self.answered is False
        value = answers[self.step]
        if self.answered is not None:
            return self.answered
        values = [str(v) for v in value] if isinstance(value, list) else [condition_text(value)]
        if self.is_in and not any(v in self.is_in for v in values):
            return False
        if self.not_in and any(v in self.not_in for v in values):
            return False
        if self.min is not None or self.max is not None:
            if not isinstance(value, int | float) or isinstance(value, bool):
                return False
            if self.min is not None and value < self.min:
                return False
            if self.max is not None and value > self.max:
                return False
        return True


def condition_text(value: Any) -> str:
    """An answer as ``when: in:`` lists compare it (yes/no as « oui »/« non »)."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    return str(value)


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    ask: str
    type: StepType
    section: str = ""
    help: str = ""
    options: tuple[Option, ...] = ()
    optional: bool = False
    comment: bool = False
    """For scale and choice steps: a comment may follow the number (« 2 peu de liens »)."""
    when: tuple[Condition, ...] = ()
    """All conditions must hold for the step to be asked."""
    min: float | None = None
    max: float | None = None
    max_length: int = TEXT_MAX_DEFAULT
    meta: dict[str, Any] = field(default_factory=dict)
    line: int = 0

    def visible(self, answers: dict[str, Any]) -> bool:
        return all(c.holds(answers) for c in self.when)

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


@dataclass(frozen=True, slots=True)
class Flow:
    id: str
    title: str
    steps: tuple[Step, ...]
    version: str
    """Fingerprint of the file: a button from an older version is recognised as stale."""
    command: str = ""
    description: str = ""
    intro: str = ""
    outro: str = ""
    summary: str = ""
    """Name of the summariser and of its templates (``storage/reports/templates/<summary>.*``)."""
    meta: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    _positions: dict[str, int] = field(init=False, repr=False, compare=False)
    """Step id → index; asked at every message (button payloads, progress)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_positions", {s.id: i for i, s in enumerate(self.steps)})

    def step(self, step_id: str) -> Step | None:
        position = self._positions.get(step_id)
        return None if position is None else self.steps[position]

    def index(self, step_id: str) -> int:
        """Position of a step of this flow (``KeyError`` for an unknown id)."""
        return self._positions[step_id]
