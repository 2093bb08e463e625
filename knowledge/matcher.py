"""Question → entries: a weighted token match plus a fuzzy phrase match.

Why two signals. The token match (inverse document frequency, typo-tolerant token
mapping) says how much of what the person asked is covered by an entry; it rejects
out-of-scope questions, whose meaningful words the base does not know. The phrase
match (rapidfuzz over the ways people ask each entry) breaks ties between entries
sharing words. rapidfuzz ≥ 3 applies no processor, and ``WRatio`` scores substrings
high, so everything is normalised first (see :mod:`knowledge.normalise`) and the
scorer is ``token_sort_ratio``, measured on ``benchmarks/data/kb_dev.yaml``.

Decision: below ``threshold`` → unknown (« je ne sais pas »); two different entries
closer than ``margin`` → ambiguous (« vouliez-vous dire… ? »); else an answer.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from knowledge.model import Entry, KbResult, ScoredEntry, Status
from knowledge.normalise import Normaliser


@dataclass(frozen=True, slots=True)
class MatcherSettings:
    """Tuned on the development set (tuning half), checked on the held-out half."""

    strong_weight: float = 1.0
    """An entry's title, keywords and typical questions."""
    weak_weight: float = 0.3
    """Its answer and details: related, but not what it is about."""
    fuzzy_cutoff: float = 82.0
    """Minimum rapidfuzz ratio for a misspelt word to count as a known one."""
    unknown_weight: float = 0.9
    """Weight of a word the base does not know, relative to the rarest known word."""
    phrase_weight: float = 0.35
    threshold: float = 0.42
    margin: float = 0.04
    suggestion_floor: float = 0.12


DEFAULT_SETTINGS = MatcherSettings()


class Matcher:
    """Pre-processed index of the entries; ``score`` costs well under a millisecond."""

    def __init__(
        self,
        entries: Sequence[Entry],
        normaliser: Normaliser,
        settings: MatcherSettings = DEFAULT_SETTINGS,
    ) -> None:
        self.entries = tuple(entries)
        self.normaliser = normaliser
        self.settings = settings
        strong: list[set[str]] = []
        weak: list[set[str]] = []
        phrases: list[str] = []
        phrase_owner: list[int] = []
        for index, entry in enumerate(self.entries):
            strong_text = [entry.title, entry.short, *entry.keywords, *entry.questions]
            strong_tokens = {t for text in strong_text for t in normaliser.tokens(text)}
            weak_tokens = set(normaliser.tokens(entry.answer + " " + entry.details))
            strong.append(strong_tokens)
            weak.append(weak_tokens - strong_tokens)
            for text in (entry.title, *entry.questions):
                phrase = " ".join(normaliser.tokens(text))
                if phrase:
                    phrases.append(phrase)
                    phrase_owner.append(index)
        count = len(self.entries)
        document_frequency: dict[str, float] = defaultdict(float)
        for tokens in strong:
            for token in tokens:
                document_frequency[token] += 1.0
        for tokens in weak:
            for token in tokens:
                document_frequency[token] += 0.5
        self._idf = {
            token: math.log(1.0 + count / df) for token, df in document_frequency.items()
        }
        self._max_idf = max(self._idf.values(), default=1.0)
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for index, tokens in enumerate(strong):
            for token in tokens:
                postings[token].append((index, settings.strong_weight))
        for index, tokens in enumerate(weak):
            for token in tokens:
                postings[token].append((index, settings.weak_weight))
        self._postings = {token: tuple(items) for token, items in postings.items()}
        self._vocabulary = sorted(self._postings)
        self._phrases = phrases
        self._phrase_owner = phrase_owner
        self._map_token = lru_cache(maxsize=4096)(self._map_token_uncached)

    def _map_token_uncached(self, token: str) -> tuple[str, float] | None:
        """The known token a typed word stands for, with a confidence factor."""
        if token in self._postings:
            return token, 1.0
        if len(token) < 4 or token.isdigit():
            return None
        found = process.extractOne(
            token,
            self._vocabulary,
            scorer=fuzz.ratio,
            score_cutoff=self.settings.fuzzy_cutoff,
        )
        if found is None:
            return None
        known, score, _ = found
        return known, (score / 100.0) ** 2

    def scores(self, question: str) -> list[tuple[int, float]]:
        """(entry index, score in [0, 1]) for every entry with some overlap, best first."""
        tokens = list(dict.fromkeys(self.normaliser.tokens(question)))
        if not tokens:
            return []
        total = 0.0
        covered: dict[int, float] = defaultdict(float)
        unknown_weight = self.settings.unknown_weight * self._max_idf
        for token in tokens:
            mapped = self._map_token(token)
            if mapped is None:
                total += unknown_weight
                continue
            known, confidence = mapped
            weight = self._idf[known]
            total += weight
            for index, field_weight in self._postings[known]:
                covered[index] += weight * field_weight * confidence
        if not covered:
            return []
        query_phrase = " ".join(tokens)
        best_phrase: dict[int, float] = defaultdict(float)
        for _, score, position in process.extract(
            query_phrase,
            self._phrases,
            scorer=fuzz.token_sort_ratio,
            limit=40,
            score_cutoff=40,
        ):
            owner = self._phrase_owner[position]
            best_phrase[owner] = max(best_phrase[owner], score / 100.0)
        phrase_weight = self.settings.phrase_weight
        results = [
            (index, (1 - phrase_weight) * (value / total) + phrase_weight * best_phrase[index])
            for index, value in covered.items()
        ]
        results.sort(key=lambda item: -item[1])
        return results

    def ask(self, question: str, top: int = 3) -> KbResult:
        ranked = self.scores(question)
        settings = self.settings
        top = max(1, top)
        best = ranked[0][1] if ranked else 0.0
        if best < settings.threshold:
            suggestions = [
                self.entries[index] for index, score in ranked[:3]
                if score >= settings.suggestion_floor
            ]
            return KbResult(query=question, status="unknown", answers=[], suggestions=suggestions)
        kept = [
            ScoredEntry(self.entries[index], round(score, 4))
            for index, score in ranked[:top]
            if score >= settings.threshold
        ]
        status: Status = "answer"
        if len(ranked) > 1 and ranked[1][1] >= settings.threshold:
            if best - ranked[1][1] < settings.margin:
                status = "ambiguous"
        others = [item.entry for item in kept[1:]]
        suggestions = others or list(self._related(kept[0].entry))
        return KbResult(query=question, status=status, answers=kept, suggestions=suggestions)

    def _related(self, entry: Entry) -> list[Entry]:
        by_id = {e.id: e for e in self.entries}
        return [by_id[i] for i in entry.see_also if i in by_id]
