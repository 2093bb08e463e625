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

Three guards keep a lookalike from answering:

- an acronym (« CRESS », « SCIC ») is matched exactly, never as the nearest spelling of
  another word: « Cressé » or « Scicy » are towns, not the CRESS or a SCIC; a word typed
  with a capital letter inside a sentence (a proper noun) is not read as a typo either;
- a neighbouring topic named by the head noun of an entry's title plus a complement the
  entry never mentions (« fresque du climat » for the « Fresque de l'engagement local »)
  counts as off topic for that entry;
- the threshold and the margin rule above.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process

from flows.folding import fold
from knowledge.model import Entry, KbResult, ScoredEntry, Status
from knowledge.normalise import Normaliser, simplify, stem

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
    candidates: int = 8
    """Entries (best token coverage) whose phrasings are compared with the question."""


DEFAULT_SETTINGS = MatcherSettings()
_VECTOR_MIN_ENTRIES = 2000
"""From this size on, the overlap is summed with numpy arrays (see ``_accumulate``)."""

_ARTICLES = frozenset({"de", "du", "des", "d", "la", "le", "les", "l"})
"""Words allowed between a head noun and its complement (« fresque de la biodiversité »)."""

_CONTACT_INTENT = re.compile(
    r"\b(qui (contacter|appeler|solliciter|joindre|peut (m|nous|me|les) ?(aider|accompagner))"
    r"|(a|aupres de|vers) qui|qui s occupe|interlocuteur|contacter|joindre)\b"
)
"""« qui peut m'aider à créer une SCOP » asks for a contact, not for the SCOP itself."""


def _plain(text: str) -> str:
    """Lower case, no accents, apostrophes and punctuation as spaces (for intent phrases)."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(text)).split())


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
        tokenise = lru_cache(maxsize=None)(lambda text: tuple(normaliser.tokens(text)))
        # token -> best field weight, per entry
        fields: list[dict[str, float]] = []
        phrases: list[str] = []
        phrase_owner: list[int] = []
        for index, entry in enumerate(self.entries):
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
        count = len(self.entries)
        self._fields = fields
        self._by_id = {e.id: e for e in self.entries}
        document_frequency: dict[str, float] = defaultdict(float)
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for index, weights in enumerate(fields):
            for token, weight in weights.items():
                document_frequency[token] += 1.0 if weight > settings.weak_weight else 0.5
                postings[token].append((index, weight))
        self._idf = {token: math.log(1.0 + count / df) for token, df in document_frequency.items()}
        self._max_idf = max(self._idf.values(), default=1.0)
        self._names = [
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
            for entry in self.entries
        ]
        # What an entry is about: its title, its short name, each keyword. A question
        # is on topic when it contains all the words of one of them (« demain » alone
        # does not make a question about « Petites villes de demain »).
        self._topics = [
            tuple(
                topic
                for topic in {
                    frozenset(tokenise(text))
                    for text in (entry.title, entry.short, *entry.keywords)
                }
                if topic
            )
            for entry in self.entries
        ]
        self._postings = {token: tuple(items) for token, items in postings.items()}
        self._arrays: tuple[Any, int] | None = None
        self._vectors: dict[str, tuple[Any, Any]] = {}
        if count >= _VECTOR_MIN_ENTRIES:
            import numpy as np

            self._arrays = (np, count)
            self._vectors = {
                token: (np.fromiter((i for i, _ in items), dtype=np.int64),
                        np.fromiter((w for _, w in items), dtype=np.float64))
                for token, items in self._postings.items()
            }
        # Acronyms are matched exactly: a town close to « cress » is not the CRESS.
        self._acronyms = frozenset(
            token
            for entry in self.entries
            for text in (
                *_ACRONYM.findall(entry.short),
                *(a for inside in _PARENTHESES.findall(entry.title)
                  for a in _ACRONYM.findall(inside)),
            )
            for token in tokenise(text)
        )
        self._fuzzy_vocabulary = sorted(
            t for t in self._postings if len(t) >= 4 and t not in self._acronyms
        )
        # Head noun of each title (« fresque », « charte »…), when the title has more words,
        # and the other words of the title.
        self._heads: list[str | None] = []
        self._title_rest: list[frozenset[str]] = []
        self._title_sets: list[frozenset[str]] = []
        for entry in self.entries:
            title_tokens = tokenise(_PARENTHESES.sub(" ", entry.title))
            self._heads.append(title_tokens[0] if len(title_tokens) > 1 else None)
            self._title_rest.append(frozenset(title_tokens[1:]))
            self._title_sets.append(frozenset(title_tokens))
        self._head_owners: dict[str, list[int]] = defaultdict(list)
        for index, head in enumerate(self._heads):
            if head is not None:
                self._head_owners[head].append(index)
        entry_phrases: list[list[str]] = [[] for _ in self.entries]
        for phrase, owner in zip(phrases, phrase_owner, strict=True):
            entry_phrases[owner].append(phrase)
        self._entry_phrases = [tuple(p) or ("",) for p in entry_phrases]
        self._map_token = lru_cache(maxsize=4096)(self._map_token_uncached)

    def _map_token_uncached(self, token: str) -> tuple[str, float] | None:
        """The known token a typed word stands for, with a confidence factor."""
        if token in self._postings:
            return token, 1.0
        if len(token) < 5 or token.isdigit():
            return None  # « cafe » is not a typo of « cae »: short words are left alone
        cutoff = self.settings.fuzzy_cutoff + (6 if len(token) <= 6 else 0)
        found = process.extractOne(
            token, self._fuzzy_vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff
        )
        if found is None:
            return None
        known, score, _ = found
        return known, (score / 100.0) ** 2

    def _split_glued(self, words: list[str]) -> list[str]:
        """Stemmed tokens; « franceactive » gives two known words typed without a space."""
        out: list[str] = []
        for word in words:
            token = stem(word)
            if token in self._postings or len(word) < 8:
                out.append(token)
                continue
            for cut in range(4, len(word) - 3):
                left, right = stem(word[:cut]), stem(word[cut:])
                if left in self._postings and right in self._postings:
                    out += [left, right]
                    break
            else:
                out.append(token)
        return out

    def _proper_nouns(self, question: str) -> set[str]:
        """Tokens of words capitalised inside a sentence (« à Cressé »): names, not typos."""
        found: set[str] = set()
        for sentence in re.split(r"[.!?;:\n]+", question):
            words = sentence.split()
            for word in words[1:]:
                if word[:1].isupper() and not word.isupper() and word[1:2].islower():
                    found.update(stem(w) for w in self.normaliser.words(word))
        return found

    def scores(self, question: str) -> list[tuple[int, float]]:
        """(entry index, score in [0, 1]) for every entry with some overlap, best first."""
        tokens = list(dict.fromkeys(self._split_glued(self.normaliser.words(question))))
        if not tokens:
            return []
        settings = self.settings
        proper = self._proper_nouns(question)
        names = [t for t in tokens if t in proper and t not in self._postings]
        # A place or a person's name is not read as a typo of a known word; it counts
        # half an unknown word: it says nothing of the topic, but must not let a lone
        # context word (« mairie ») answer for it.
        tokens = [t for t in tokens if t not in names]
        raw_words = self._raw_words(question)
        foreign = self._foreign_names(raw_words, tokens)
        total = 0.0
        unknown: float = 0.5 * len(names)
        present: set[str] = set()
        known_tokens: list[tuple[str, float]] = []
        for token in tokens:
            mapped = self._map_token(token)
            if mapped is None or mapped[0] in foreign:
                unknown += 1
                continue
            present.add(mapped[0])
            known_tokens.append(mapped)
            total += self._idf[mapped[0]]
        covered = self._accumulate(known_tokens)
        if not covered:
            return []
        # Unknown words dilute the match, but sub-linearly: a long, chatty question
        # about a known topic must not drown, while a question made only of words
        # the base does not know stays far below the threshold.
        total += settings.unknown_weight * self._max_idf * unknown**settings.unknown_power
        query_phrase = " ".join(t for t in tokens if (self._map_token(t) or ("",))[0]
                                not in foreign)
        wants_contact = bool(_CONTACT_INTENT.search(_plain(question)))
        phrase_weight = settings.phrase_weight
        # Ties broken by position in the base, whatever order the sums came in.
        candidates = heapq.nlargest(settings.candidates, covered.items(),
                                    key=lambda item: (round(item[1], 9), -item[0]))
        results = []
        for index, value in candidates:
            best_phrase = max(
                fuzz.token_sort_ratio(query_phrase, phrase) for phrase in self._entry_phrases[index]
            )
            score = (1 - phrase_weight) * (value / total) + phrase_weight * best_phrase / 100.0
            if not any(topic <= present for topic in self._topics[index]):
                # No word of the question is in the entry's title or keywords: it
                # only shares context words (« heure », « prix »), not its topic.
                score *= settings.off_topic_factor
            elif self._names_another_thing(index, raw_words, present):
                # « fresque du climat »: the entry's head noun, qualified by a word the
                # entry never uses, names a neighbouring topic the base does not have.
                score *= settings.off_topic_factor
            named = [name for name in self._names[index] if name <= present]
            if named:
                # The question names the entry (« scop », « esus », « cerema »): a strong
                # intent signal, scaled by how specific the name is (« ess » is everywhere).
                specificity = max(
                    sum(self._idf[t] for t in name) / (len(name) * self._max_idf) for name in named
                )
                score += settings.name_bonus * specificity
            if wants_contact and self.entries[index].kind == "contact":
                score += settings.contact_bonus
            results.append((index, min(1.0, score)))
        results.sort(key=lambda item: -item[1])
        return results

    def _raw_words(self, question: str) -> list[str]:
        """The question's words in order, abbreviations expanded, stop words kept."""
        words: list[str] = []
        for raw in simplify(question).split():
            words += self.normaliser.abbreviations.get(raw, (raw,))
        return words

    def _foreign_names(self, words: list[str], tokens: list[str]) -> set[str]:
        """Known words that, together, name a thing the base does not have.

        « fresque du climat »: « fresque » heads the title of one entry, « climat » is a
        word that entry never uses, and no entry uses both. Those words are then read as
        unknown for every entry, so that neither the Fresque de l'engagement local nor an
        entry that only mentions the climate answers in its place.
        """
        known = {m[0] for m in map(self._map_token, tokens) if m}
        foreign: set[str] = set()
        for position, word in enumerate(words):
            owners = self._head_owners.get(stem(word))
            if not owners:
                continue
            following = [w for w in words[position + 1:position + 4] if w not in _ARTICLES]
            if not following or following[0] in self.normaliser.stop_words:
                continue
            head = stem(word)
            mapped = self._map_token(stem(following[0]))
            qualifier = mapped[0] if mapped else None
            if any(self._title_rest[i] & known for i in owners):
                continue
            others = [i for i, _ in self._postings.get(head, ()) if i not in owners]
            if any(frozenset({head}) in self._topics[i] or self._title_sets[i] <= known
                   for i in others):
                continue  # « coopération », « ESS France »: the word names another entry
            if qualifier is not None and any(qualifier in self._fields[i] for i in owners):
                continue
            both = (
                {i for i, _ in self._postings.get(head, ())}
                & {i for i, _ in self._postings.get(qualifier, ())}
                if qualifier else set()
            )
            if not both:
                foreign.add(head)
                if qualifier:
                    foreign.add(qualifier)
        return foreign

    def _names_another_thing(self, index: int, words: list[str], present: set[str]) -> bool:
        """« fresque du climat »: the head noun of the entry's title, then at once (or after
        « de », « du », « des ») a word the entry never uses, and no other word of its title.
        « associations sont différentes » is not a complement: a verb comes between."""
        head = self._heads[index]
        if head is None or head not in present or self._title_rest[index] & present:
            return False
        for position, word in enumerate(words):
            if stem(word) != head:
                continue
            following = [w for w in words[position + 1:position + 4] if w not in _ARTICLES]
            if not following or following[0] in self.normaliser.stop_words:
                continue
            mapped = self._map_token(stem(following[0]))
            if mapped is None or mapped[0] not in self._fields[index]:
                return True
        return False

    def _accumulate(self, known_tokens: list[tuple[str, float]]) -> dict[int, float]:
        """Entry index → weighted overlap with the question's known words.

        A large base (thousands of entries) adds whole postings arrays with numpy, then
        keeps only the best ``candidates``: looping in Python over the thousands of
        entries that share a common word would cost milliseconds. numpy is imported
        only then, so ``coopbot ask`` on the shipped base does not pay for it.
        """
        if self._arrays is not None:
            np, count = self._arrays
            totals = np.zeros(count)
            for known, confidence in known_tokens:
                indexes, weights = self._vectors[known]
                totals[indexes] += weights * (self._idf[known] * confidence)
            keep = min(count, self.settings.candidates)
            floor = max(np.partition(totals, count - keep)[count - keep] - 1e-9, 1e-12)
            best = np.flatnonzero(totals >= floor)  # ties at the edge are all kept
            return {int(i): float(totals[i]) for i in best}
        covered: dict[int, float] = defaultdict(float)
        for known, confidence in known_tokens:
            weight = self._idf[known] * confidence
            for index, field_weight in self._postings[known]:
                covered[index] += weight * field_weight
        return covered

    def ask(self, question: str, top: int = 3) -> KbResult:
        ranked = self.scores(question)
        settings = self.settings
        top = max(1, top)
        best = ranked[0][1] if ranked else 0.0
        if best < settings.threshold:
            suggestions = [
                self.entries[index]
                for index, score in ranked[:3]
                if score >= settings.suggestion_floor
            ]
            return KbResult(query=question, status="unknown", answers=[], suggestions=suggestions)
        kept = [
            ScoredEntry(self.entries[index], round(score, 4))
            for index, score in ranked[:top]
            if score >= settings.threshold
        ]
        status: Status = "answer"
        if (
            len(ranked) > 1
            and ranked[1][1] >= settings.threshold
            and best - ranked[1][1] < settings.margin
        ):
            status = "ambiguous"
        others = [item.entry for item in kept[1:]]
        suggestions = others or list(self._related(kept[0].entry))
        return KbResult(query=question, status=status, answers=kept, suggestions=suggestions)

    def _related(self, entry: Entry) -> list[Entry]:
        return [self._by_id[i] for i in entry.see_also if i in self._by_id]
