"""The knowledge base's index: what the matcher precomputes once, at start.

Per entry, the weight of each of its words (title and short name weigh most, then
keywords, typical questions, and last the answer's own words), the inverse document
frequency of each word, the phrases people ask it by, its names and acronyms, and the
head noun of its title — so that a question costs well under a millisecond.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from knowledge.model import Entry
from knowledge.normalise import Normaliser

_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,}[a-z]?\b")
_PARENTHESES = re.compile(r"\(([^)]*)\)")
"""An entry's own acronyms are in parentheses in its title: « … (SCIC) », « (DREETS, DDETS) ».
Acronyms elsewhere in a title (« Union régionale des SCOP et SCIC ») name other entries."""


@dataclass(frozen=True, slots=True)
class MatcherSettings:
    """Tuned on the development set (tuning half), checked on the held-out half."""

    title_weight: float = 1.0
    """Words of an entry's title or short name: what it is about."""
    keyword_weight: float = 0.9
    question_weight: float = 0.8
    """Words of the typical questions: on topic, but some are incidental."""
    weak_weight: float = 0.3
    """Its answer and details: related, but not what it is about."""
    fuzzy_cutoff: float = 82.0
    """Minimum rapidfuzz ratio for a misspelt word to count as a known one."""
    unknown_weight: float = 0.8
    """Weight of a word the base does not know, relative to the rarest known word."""
    unknown_power: float = 0.5
    """Unknown words count as ``unknown_weight × n ** unknown_power`` rarest words."""
    name_bonus: float = 0.15
    """Added when the question contains an entry's short name (acronym)."""
    off_topic_factor: float = 0.6
    """Applied when the question contains no keyword, title or short name of the entry."""
    contact_bonus: float = 0.1
    """Added to « contact » entries when the question asks whom to turn to."""
    phrase_weight: float = 0.2
    threshold: float = 0.43
    margin: float = 0.04
    suggestion_floor: float = 0.25
    vector_min_entries: int = 2000
    """From this size on, the matcher sums overlaps with numpy arrays."""
    candidates: int = 8
    """Entries (best token coverage) whose phrasings are compared with the question."""


DEFAULT_SETTINGS = MatcherSettings()


@dataclass(frozen=True, slots=True)
class Index:
    fields: list[dict[str, float]]
    by_id: dict[str, Entry]
    idf: dict[str, float]
    max_idf: float
    names: list[tuple[frozenset[str], ...]]
    topics: list[tuple[frozenset[str], ...]]
    postings: dict[str, tuple[tuple[int, float], ...]]
    arrays: tuple[Any, int] | None
    vectors: dict[str, tuple[Any, Any]]
    acronyms: frozenset[str]
    fuzzy_vocabulary: list[str]
    heads: list[str | None]
    title_rest: list[frozenset[str]]
    title_sets: list[frozenset[str]]
    head_owners: dict[str, list[int]]
    entry_phrases: list[tuple[str, ...]]


def build_index(entries: Sequence[Entry], normaliser: Normaliser,
                settings: MatcherSettings = DEFAULT_SETTINGS) -> Index:
    entries = tuple(entries)
    tokenise = lru_cache(maxsize=None)(lambda text: tuple(normaliser.tokens(text)))
    # token -> best field weight, per entry
    fields: list[dict[str, float]] = []
    phrases: list[str] = []
    phrase_owner: list[int] = []
    for index, entry in enumerate(entries):
        weights: dict[str, float] = {}
        tiers = (
            (settings.weak_weight, [entry.answer, entry.details]),
            (settings.question_weight, list(entry.questions)),
            (settings.keyword_weight, list(entry.keywords)),
            (settings.title_weight, [entry.title, entry.short]),
        )
        for weight, texts in tiers:
            for text in texts:
                for token in tokenise(text):
                    weights[token] = weight
        fields.append(weights)
        for text in (entry.title, entry.short, *entry.questions):
            phrase = " ".join(tokenise(text))
            if phrase:
                phrases.append(phrase)
                phrase_owner.append(index)
    count = len(entries)
    by_id = {e.id: e for e in entries}
    document_frequency: dict[str, float] = defaultdict(float)
    postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for index, weights in enumerate(fields):
        for token, weight in weights.items():
            document_frequency[token] += 1.0 if weight > settings.weak_weight else 0.5
            postings[token].append((index, weight))
    idf = {token: math.log(1.0 + count / df) for token, df in document_frequency.items()}
    max_idf = max(idf.values(), default=1.0)
    names = [
        tuple(
            name
            for name in {
                frozenset(tokenise(entry.short)),
                *(
                    frozenset(tokenise(acronym))
                    for inside in _PARENTHESES.findall(entry.title)
                    for acronym in _ACRONYM.findall(inside)
                ),
            }
            if name
        )
        for entry in entries
    ]
    # What an entry is about: its title, its short name, each keyword. A question
    # is on topic when it contains all the words of one of them (« demain » alone
    # does not make a question about « Petites villes de demain »).
    topics = [
        tuple(
            topic
            for topic in {
                frozenset(tokenise(text))
                for text in (entry.title, entry.short, *entry.keywords)
            }
            if topic
        )
        for entry in entries
    ]
    postings = {token: tuple(items) for token, items in postings.items()}
    arrays: tuple[Any, int] | None = None
    vectors: dict[str, tuple[Any, Any]] = {}
    if count >= settings.vector_min_entries:
        import numpy as np

        arrays = (np, count)
        vectors = {
            token: (np.fromiter((i for i, _ in items), dtype=np.int64),
                    np.fromiter((w for _, w in items), dtype=np.float64))
            for token, items in postings.items()
        }
    # Acronyms are matched exactly: a town close to « cress » is not the CRESS.
    acronyms = frozenset(
        token
        for entry in entries
        for text in (
            *_ACRONYM.findall(entry.short),
            *(a for inside in _PARENTHESES.findall(entry.title)
              for a in _ACRONYM.findall(inside)),
        )
        for token in tokenise(text)
    )
    fuzzy_vocabulary = sorted(
        t for t in postings if len(t) >= 4 and t not in acronyms
    )
    # Head noun of each title (« fresque », « charte »…), when the title has more words,
    # and the other words of the title.
    heads: list[str | None] = []
    title_rest: list[frozenset[str]] = []
    title_sets: list[frozenset[str]] = []
    for entry in entries:
        title_tokens = tokenise(_PARENTHESES.sub(" ", entry.title))
        heads.append(title_tokens[0] if len(title_tokens) > 1 else None)
        title_rest.append(frozenset(title_tokens[1:]))
        title_sets.append(frozenset(title_tokens))
    head_owners: dict[str, list[int]] = defaultdict(list)
    for index, head in enumerate(heads):
        if head is not None:
            head_owners[head].append(index)
    entry_phrases: list[list[str]] = [[] for _ in entries]
    for phrase, owner in zip(phrases, phrase_owner, strict=True):
        entry_phrases[owner].append(phrase)
    entry_phrases = [tuple(p) or ("",) for p in entry_phrases]
    return Index(
        fields=fields,
        by_id=by_id,
        idf=idf,
        max_idf=max_idf,
        names=names,
        topics=topics,
        postings=postings,
        arrays=arrays,
        vectors=vectors,
        acronyms=acronyms,
        fuzzy_vocabulary=fuzzy_vocabulary,
        heads=heads,
        title_rest=title_rest,
        title_sets=title_sets,
        head_owners=head_owners,
        entry_phrases=entry_phrases,
    )
