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
import re
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache

from rapidfuzz import fuzz, process

from flows.folding import fold
from knowledge.index import DEFAULT_SETTINGS, MatcherSettings, build_index
from knowledge.model import Entry, KbResult, ScoredEntry, Status
from knowledge.normalise import Normaliser, simplify, stem

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
        self._ix = build_index(self.entries, normaliser, settings)
        self._map_token = lru_cache(maxsize=4096)(self._map_token_uncached)

    def _map_token_uncached(self, token: str) -> tuple[str, float] | None:
        """The known token a typed word stands for, with a confidence factor."""
        if token in self._ix.postings:
            return token, 1.0
        if len(token) < 5 or token.isdigit():
            return None  # « cafe » is not a typo of « cae »: short words are left alone
        cutoff = self.settings.fuzzy_cutoff + (6 if len(token) <= 6 else 0)
        found = process.extractOne(
            token, self._ix.fuzzy_vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff
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
            if token in self._ix.postings or len(word) < 8:
                out.append(token)
                continue
            for cut in range(4, len(word) - 3):
                left, right = stem(word[:cut]), stem(word[cut:])
                if left in self._ix.postings and right in self._ix.postings:
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
        names = [t for t in tokens if t in proper and t not in self._ix.postings]
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
            total += self._ix.idf[mapped[0]]
        covered = self._accumulate(known_tokens)
        if not covered:
            return []
        # Unknown words dilute the match, but sub-linearly: a long, chatty question
        # about a known topic must not drown, while a question made only of words
        # the base does not know stays far below the threshold.
        total += settings.unknown_weight * self._ix.max_idf * unknown**settings.unknown_power
        query_phrase = " ".join(t for t in tokens if (self._map_token(t) or ("",))[0]
                                not in foreign)
        wants_contact = bool(_CONTACT_INTENT.search(_plain(question)))
        phrase_weight = settings.phrase_weight
        # Ties broken by position in the base, whatever order the sums came in.
        candidates = heapq.nlargest(settings.candidates, covered.items(),
                                    key=lambda item: (round(item[1], 9), -item[0]))
        results = []
        for index, value in candidates:
            phrases = self._ix.entry_phrases[index]
            best_phrase = max(fuzz.token_sort_ratio(query_phrase, phrase) for phrase in phrases)
            score = (1 - phrase_weight) * (value / total) + phrase_weight * best_phrase / 100.0
            if not any(topic <= present for topic in self._ix.topics[index]):
                # No word of the question is in the entry's title or keywords: it
                # only shares context words (« heure », « prix »), not its topic.
                score *= settings.off_topic_factor
            elif self._names_another_thing(index, raw_words, present):
                # « fresque du climat »: the entry's head noun, qualified by a word the
                # entry never uses, names a neighbouring topic the base does not have.
                score *= settings.off_topic_factor
            named = [name for name in self._ix.names[index] if name <= present]
            if named:
                # The question names the entry (« scop », « esus », « cerema »): a strong
                # intent signal, scaled by how specific the name is (« ess » is everywhere).
                idf, top = self._ix.idf, self._ix.max_idf
                specificity = max(sum(idf[t] for t in name) / (len(name) * top) for name in named)
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
            owners = self._ix.head_owners.get(stem(word))
            if not owners:
                continue
            following = [w for w in words[position + 1:position + 4] if w not in _ARTICLES]
            if not following or following[0] in self.normaliser.stop_words:
                continue
            head = stem(word)
            mapped = self._map_token(stem(following[0]))
            qualifier = mapped[0] if mapped else None
            if any(self._ix.title_rest[i] & known for i in owners):
                continue
            alone, owned = frozenset({head}), set(owners)
            if any(alone in self._ix.topics[i] or self._ix.title_sets[i] <= known
                   for i, _ in self._ix.postings.get(head, ()) if i not in owned):
                continue  # « coopération », « ESS France »: the word names another entry
            if qualifier is not None and any(qualifier in self._ix.fields[i] for i in owners):
                continue
            both = (
                {i for i, _ in self._ix.postings.get(head, ())}
                & {i for i, _ in self._ix.postings.get(qualifier, ())}
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
        head = self._ix.heads[index]
        if head is None or head not in present or self._ix.title_rest[index] & present:
            return False
        for position, word in enumerate(words):
            if stem(word) != head:
                continue
            following = [w for w in words[position + 1:position + 4] if w not in _ARTICLES]
            if not following or following[0] in self.normaliser.stop_words:
                continue
            mapped = self._map_token(stem(following[0]))
            if mapped is None or mapped[0] not in self._ix.fields[index]:
                return True
        return False

    def _accumulate(self, known_tokens: list[tuple[str, float]]) -> dict[int, float]:
        """Entry index → weighted overlap with the question's known words.

        A large base (thousands of entries) adds whole postings arrays with numpy, then
        keeps only the best ``candidates``: looping in Python over the thousands of
        entries that share a common word would cost milliseconds. numpy is imported
        only then, so ``coopbot ask`` on the shipped base does not pay for it.
        """
        if self._ix.arrays is not None:
            np, count = self._ix.arrays
            totals = np.zeros(count)
            for known, confidence in known_tokens:
                indexes, weights = self._ix.vectors[known]
                totals[indexes] += weights * (self._ix.idf[known] * confidence)
            keep = min(count, self.settings.candidates)
            floor = max(np.partition(totals, count - keep)[count - keep] - 1e-9, 1e-12)
            best = np.flatnonzero(totals >= floor)  # ties at the edge are all kept
            return {int(i): float(totals[i]) for i in best}
        covered: dict[int, float] = defaultdict(float)
        for known, confidence in known_tokens:
            weight = self._ix.idf[known] * confidence
            for index, field_weight in self._ix.postings[known]:
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
        return [self._ix.by_id[i] for i in entry.see_also if i in self._ix.by_id]
