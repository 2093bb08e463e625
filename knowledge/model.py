"""Typed values of the knowledge base, shared by the matcher, replies and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

KINDS: tuple[str, ...] = ("forme", "dispositif", "contact", "outil", "notion")
Status = Literal["answer", "ambiguous", "unknown"]


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One knowledge card: a short answer for a chat bubble, details on request."""

    id: str
    kind: str
    title: str
    answer: str
    short: str = ""
    questions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    details: str = ""
    links: tuple[Link, ...] = ()
    see_also: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    path: str = ""
    line: int = 0

    @property
    def label(self) -> str:
        """Short name for a button (the title when no short name is given)."""
        return self.short or self.title


@dataclass(frozen=True, slots=True)
class ScoredEntry:
    entry: Entry
    score: float


@dataclass(frozen=True, slots=True)
class KbResult:
    """What the matcher concluded about one question.

    ``answers`` is best first; it is empty when ``status`` is ``"unknown"`` (Coopbot
    does not know, and says so). ``suggestions`` are the closest topics to offer then.
    """

    query: str
    status: Status
    answers: list[ScoredEntry] = field(default_factory=list)
    suggestions: list[Entry] = field(default_factory=list)
