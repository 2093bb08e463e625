"""The shape of each summary, typed.

A summary is computed once, stored as JSON with its session, and read back by chat
templates, exports and charts. It is typed as a ``TypedDict`` rather than a dataclass
on purpose: the same value is then what the summariser returns, what is stored and
what every reader gets back from storage — one shape, checked by type checkers,
with no conversion to write or to keep in step.
"""

from __future__ import annotations

from typing import Any, TypedDict

# --- facteurs --------------------------------------------------------------------------


class Family(TypedDict):
    id: str
    label: str
    short: str
    score: float | None
    """Mean rating, to one decimal."""
    percent: int | None
    answered: int
    total: int


class Overall(TypedDict):
    score: float | None
    percent: int | None
    answered: int
    total: int


class RatedFactor(TypedDict):
    step: str
    family: str
    family_label: str
    factor: str
    rating: int
    rating_label: str
    advice: str
    comment: str | None


class Chart(TypedDict):
    title: str
    missing: str


class FacteursSummary(TypedDict):
    role: dict[str, str] | None
    project: str | None
    scale: list[str]
    scale_max: int
    families: list[Family]
    overall: Overall
    weakest: list[RatedFactor]
    other_brakes: list[RatedFactor]
    """Every « frein fort » beyond the weakest three."""
    other_brakes_text: str
    has_brakes: bool
    strengths: list[RatedFactor]
    skipped: list[str]
    comments: list[dict[str, str]]
    chart: Chart


# --- cadrage, charte, relation: a restitution of the answers, then the analysis ------


class RestitutionItem(TypedDict):
    step: str
    label: str
    ask: str
    answer: str | None
    comment: str | None


class Section(TypedDict):
    title: str
    items: list[RestitutionItem]


class Gap(TypedDict):
    id: str
    severity: str
    """``important`` or ``attention``."""
    title: str
    explanation: str
    suggestion: str
    source: str
    questions: list[str]


class Level(TypedDict):
    value: str
    label: str
    rank: int
    of: int
    arnstein: str


class Regulatory(TypedDict):
    title: str
    intro: str
    detected: str
    items: list[str]
    source: str


class CadrageCounts(TypedDict):
    asked: int
    answered: int
    gaps: int
    important: int


class CadrageSummary(TypedDict):
    includes_answers: bool
    title: str
    projet: str | None
    porteur: str | None
    niveau: Level | None
    reglementaire: Regulatory | None
    sections: list[Section]
    gaps: list[Gap]
    counts: CadrageCounts


class ArticleScore(TypedDict):
    number: int
    title: str
    short: str
    score: int | None
    """Share of the best answers, in percent; None when nothing was assessed."""
    assessed: int
    unknown: int
    questions: int
    items: list[dict[str, Any]]


class CharteSummary(TypedDict):
    includes_answers: bool
    title: str
    projet: str | None
    articles: list[ArticleScore]
    overall: int | None
    weakest: dict[str, Any] | None
    suggestions: list[dict[str, Any]]
    unknown: int
    chart: dict[str, str]


class RelationSummary(TypedDict):
    includes_answers: bool
    title: str
    role: str | None
    sujet: str | None
    position: dict[str, Any] | None
    gradient: list[str]
    nuances: list[str]
    next: dict[str, str] | None
    top: bool
    keep: str
    souhait: str | None
    legal: dict[str, Any] | None
    obstacles_selected: list[dict[str, str]]
    obstacles_watch: list[dict[str, str]]
    obstacles_other: list[dict[str, str]]
    frein_detail: str | None
    sections: list[Section]


# --- statut (computed in knowledge/, with the knowledge base) --------------------------


class Card(TypedDict, total=False):
    id: str
    title: str
    short: str
    ask: str
    """The form's name with its article, for a sentence (« un fonds de dotation »)."""
    answer: str
    links: list[dict[str, str]]
    why: str
    """For a recommended form: why it fits the answers."""


class StatutSummary(TypedDict):
    title: str
    forms: list[Card]
    frames: list[Card]
    contacts: list[Card]
