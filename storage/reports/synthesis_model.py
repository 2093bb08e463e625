"""A workshop's synthesis as typed values, shared by every format that shows it.

The synthesis is read by the chat reply, the Markdown, HTML and CSV files, the charts,
the bot and the command line: one frozen value, so that a renamed or misspelt field is
an error where it is made rather than a silent gap in one format. ``to_json`` gives
the JSON export its documented keys and shape (other tools read it): a key a question
type does not have (``mean`` for a choice, ``texts`` for a scale) is left out, as it
always was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from storage.reports.anonymity import MIN_GROUP, OTHERS


@dataclass(frozen=True, slots=True)
class CategoryCount:
    """A group of participants shown on its own (a category, or the merged others)."""

    id: str
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Share:
    """One answer of a closed question: how many chose it, and their share."""

    value: str | bool
    label: str
    count: int
    percent: int


@dataclass(frozen=True, slots=True)
class QuestionSummary:
    step: str
    ask: str
    section: str
    type: str
    answered: int
    distribution: tuple[Share, ...] | None = None  # closed questions only
    mean: float | None = None  # scales and numbers
    values: tuple[int | float, ...] | None = None  # numbers
    texts: tuple[str, ...] | None = None  # open questions
    verbatim_elsewhere: bool = False  # open question shown in its own section
    comments: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step, "ask": self.ask, "section": self.section,
                               "type": self.type, "answered": self.answered}
        if self.distribution is not None:
            out["distribution"] = [asdict(d) for d in self.distribution]
        if self.type in ("scale", "number"):
            out["mean"] = self.mean
        if self.type == "number":
            out["values"] = list(self.values or ())
        if self.type == "text":
            out["texts"] = list(self.texts or ())
            out["verbatim_elsewhere"] = self.verbatim_elsewhere
        if self.comments:
            out["comments"] = list(self.comments)
        return out


@dataclass(frozen=True, slots=True)
class FamilyScore:
    """A factor family's mean rating, overall and per group of participants."""

    id: str
    label: str
    short: str
    score: float | None
    ratings: int
    by_category: Mapping[str, float | None]


@dataclass(frozen=True, slots=True)
class FactorItem:
    step: str
    factor: str
    family: str
    score: float | None
    ratings: int


@dataclass(frozen=True, slots=True)
class CategoryLabel:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class FactorSummary:
    scale: tuple[str, ...]
    scale_max: int
    families: tuple[FamilyScore, ...]
    items: tuple[FactorItem, ...]
    overall: float | None
    respondents: int
    categories: tuple[CategoryLabel, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "scale": list(self.scale),
            "scale_max": self.scale_max,
            "families": [asdict(f) | {"by_category": dict(f.by_category)}
                         for f in self.families],
            "items": [asdict(i) for i in self.items],
            "overall": self.overall,
            "respondents": self.respondents,
            "categories": [asdict(c) for c in self.categories],
        }


@dataclass(frozen=True, slots=True)
class AgoraGroup:
    """What one group asks of the others and would commit to (verbatim, sorted)."""

    category: str
    label: str
    count: int
    asks: tuple[str, ...]
    commits: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WorkshopSynthesis:
    code: str
    title: str
    flow: str
    flow_title: str
    status: str
    created_at: str
    closes_at: str | None
    generated_at: str
    participants: int
    completed: int
    categories: tuple[CategoryCount, ...]
    questions: tuple[QuestionSummary, ...]
    factors: FactorSummary | None
    expectations: tuple[str, ...]
    obstacles: tuple[str, ...]
    agora: tuple[AgoraGroup, ...]

    @property
    def by_category(self) -> dict[str, int]:
        """Group id → participants, in the order shown."""
        return {c.id: c.count for c in self.categories}

    @property
    def min_group(self) -> int:
        """The fewest people a per-category figure describes (for the documents' note)."""
        return MIN_GROUP

    @property
    def merged(self) -> bool:
        """Small categories were merged into « Autres catégories » somewhere."""
        factor_groups = self.factors.categories if self.factors else ()
        return any(c.id == OTHERS for c in (*self.categories, *factor_groups))

    @property
    def breakdown_dropped(self) -> bool:
        """People joined, but too few per category to show any category apart."""
        return bool(self.participants) and not self.categories

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "flow": self.flow,
            "flow_title": self.flow_title,
            "status": self.status,
            "created_at": self.created_at,
            "closes_at": self.closes_at,
            "generated_at": self.generated_at,
            "participants": self.participants,
            "completed": self.completed,
            "by_category": self.by_category,
            "categories": [asdict(c) for c in self.categories],
            "questions": [q.to_json() for q in self.questions],
            "factors": self.factors.to_json() if self.factors else None,
            "expectations": list(self.expectations),
            "obstacles": list(self.obstacles),
            "agora": [asdict(g) | {"asks": list(g.asks), "commits": list(g.commits)}
                      for g in self.agora],
        }
