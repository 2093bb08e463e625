"""French text normalisation shared by the index and the questions.

Agents type as they would to a colleague: no accents, typos, « asso », « interco »,
half sentences. Both the knowledge entries and the question go through the same
steps (lower case, accents, elisions, punctuation, abbreviations, stop words, a light
suffix stripping), so that « associations » and « asso » meet on the same token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from flows.folding import strip_accents

_ELISION = re.compile(r"\b([cdjlmnst]|qu|jusqu|lorsqu|puisqu)['’`´]")
_NON_WORD = re.compile(r"[^a-z0-9%]+")
_SUFFIXES: tuple[str, ...] = (
    "issements",
    "issement",
    "issent",
    "ations",
    "ation",
    "atives",
    "ative",
    "atifs",
    "atif",
    "ements",
    "ement",
    "ments",
    "ment",
    "ites",
    "ite",
    "ives",
    "ive",
    "ifs",
    "if",
    "euses",
    "euse",
    "eurs",
    "eur",
    "aux",
    "ees",
    "ee",
    "es",
    "er",
    "ez",
    "ir",
    "e",
    "s",
    "x",
)
_MIN_STEM = 4
_REWRITES: tuple[tuple[str, str], ...] = (
    ("iques", "ic"),
    ("ique", "ic"),
    ("aux", "al"),
    ("ales", "al"),
    ("ale", "al"),
)


_PUNCTUATION = str.maketrans(
    {
        "«": " ",
        "»": " ",
        "…": " ",
        "–": " ",
        "—": " ",
        "\u00a0": " ",
        "\u202f": " ",
        "°": " ",
        "€": " euros ",
        "·": " ",
    }
)


def ascii_letters(text: str) -> str:
    """Accents removed (the one folding of :mod:`flows.folding`), search punctuation as
    spaces, anything else that is not ASCII dropped."""
    text = strip_accents(text.translate(_PUNCTUATION))
    return text if text.isascii() else text.encode("ascii", "ignore").decode("ascii")


@lru_cache(maxsize=16384)
def stem(token: str) -> str:
    """Remove one common French ending, keeping at least four letters.

    Deliberately crude: it only has to map « coopérative », « coopérer » and
    « coopération » to one key, the same way for the index and the question.
    """
    if len(token) <= _MIN_STEM or token.isdigit():
        return token
    for ending, replacement in _REWRITES:  # publique → public, sociaux → social
        if token.endswith(ending) and len(token) - len(ending) >= 3:
            return token[: -len(ending)] + replacement
    for suffix in _SUFFIXES:
        # « -ation » needs a longer stem: « fondation » is not « fonds », « formation »
        # is not « forme ».
        minimum = _MIN_STEM + 1 if suffix.startswith("ation") else _MIN_STEM
        if token.endswith(suffix) and len(token) - len(suffix) >= minimum:
            return token[: -len(suffix)]
    return token


@dataclass(frozen=True)
class Normaliser:
    """Turns text into search tokens; built once from ``_lexique.yaml``."""

    abbreviations: Mapping[str, tuple[str, ...]]
    stop_words: frozenset[str]

    @classmethod
    def from_lexicon(
        cls, abbreviations: Mapping[str, str], stop_words: Iterable[str]
    ) -> Normaliser:
        abbr = {
            simplify(key): tuple(simplify(value).split()) for key, value in abbreviations.items()
        }
        stops = frozenset(simplify(word) for word in stop_words)
        return cls(abbreviations=abbr, stop_words=stops)

    def words(self, text: str) -> list[str]:
        """Plain words after abbreviations and stop words, not yet stemmed."""
        out: list[str] = []
        for raw in simplify(text).split():
            for word in self.abbreviations.get(raw, (raw,)):
                if word not in self.stop_words and (len(word) > 1 or word.isdigit()):
                    out.append(word)
        return out

    def tokens(self, text: str) -> list[str]:
        """Stemmed search tokens, in order (duplicates kept)."""
        return [stem(word) for word in self.words(text)]


def simplify(text: str) -> str:
    """Lower case, no accents, no elisions, punctuation turned into spaces."""
    text = ascii_letters(text.lower())
    text = _ELISION.sub(" ", text)
    return " ".join(_NON_WORD.sub(" ", text).split())
