"""Finding a place in what people type: « Bretagne », « bretagn », « 35 », « 35000 »…

Two uses with two levels of caution. :meth:`Places.find` reads a whole answer to
« où êtes-vous ? » (``/region …``): names with or without accents, hyphens or
case, the aliases of the directory, department names and numbers, postcodes, and
typos through rapidfuzz; a guess that is not clear-cut comes back as
« ambiguous » so that the person confirms. :meth:`Places.find_in` looks for a place
inside a question (« qui contacter pour la CRESS en Bretagne ») and is strict: exact
names only, and a department only after « en », « dans le », « de la »…, since
« Lot », « Cher » or « Somme » are also ordinary words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

from flows.folding import fold
from knowledge.territories import Place, Territories

Status = Literal["found", "ambiguous", "unknown", "outside"]

FUZZY_SURE = 85.0
"""A typo accepted without asking (« bretagn » → Bretagne: 93)."""
FUZZY_MARGIN = 10.0
"""How far ahead of the next place a typo must be to be accepted without asking."""
FUZZY_FLOOR = 78.0
"""Below this, the typed text names nothing we know."""
MAX_CANDIDATES = 4

_LEADING = {"la", "le", "les", "l", "en", "dans", "du", "de", "des", "d", "au", "aux", "a",
            "region", "departement", "dept", "dep", "n", "no", "numero"}
_ANCHORS = {"en", "dans", "a", "au", "aux", "de", "du", "des", "d", "sur", "region",
            "departement"}
_ARTICLES = {"le", "la", "l", "les"}
_COMMON_WORDS = {"centre", "reunion", "la reunion", "sud", "region sud", "aura"}
"""Region names or aliases that are also ordinary words: in a question, they count only
after « en », « à », « dans »… (« à La Réunion », not « une réunion publique », nor
« il y aura »)."""
_POSTCODE_IN_QUESTION = re.compile(
    r"(?:\b(?:à|a|en|dans|cp|postal)\s+|\b[A-ZÀ-Ý][\w'’-]+\s+)(\d{5})\b"
    r"(?!\s*(?:€|euros?\b|eur\b|k\b|habitants\b))")
"""A postcode inside a question: after « à », « en »… or a town name (« Rennes 35000 »),
never an amount (« un prêt de 50000 euros » is not the Manche)."""
_POSTCODE = re.compile(r"^\d{5}$")
_CODE = re.compile(r"^(\d{1,3}|2a|2b)$")
_OUTSIDE_POSTCODES = {"97133", "97150"}
"""Saint-Barthélemy and Saint-Martin: 971 postcodes, but collectivities of their own."""


@dataclass(frozen=True, slots=True)
class Lookup:
    status: Status
    place: Place | None = None
    candidates: tuple[Place, ...] = ()
    guessed: bool = False
    """Found through a typo (rapidfuzz), not an exact name."""


def normalise(text: str) -> str:
    """:func:`flows.folding.fold`, apostrophes as spaces: « Côte-d'Or » → « cote d or »."""
    return " ".join(fold(text).replace("'", " ").split())


class Places:
    """Every way of naming a place in the directory, built once."""

    def __init__(self, territories: Territories) -> None:
        self.territories = territories
        self._names: dict[str, list[Place]] = {}
        self._regions_anywhere: set[str] = set()
        for region in territories.regions:
            whole = Place(region)
            for name in (region.name, region.id, *region.aliases):
                self._add(normalise(name), whole)
                if normalise(name) not in _COMMON_WORDS:
                    self._regions_anywhere.add(normalise(name))
            for dept in region.departments:
                self._add(normalise(dept.name), Place(region, dept))
        self._choices = list(self._names)
        self._longest = max(len(n.split()) for n in self._names)

    def _add(self, name: str, place: Place) -> None:
        known = self._names.setdefault(name, [])
        if place not in known:
            known.append(place)

    # --- a whole answer ------------------------------------------------------------

    def find(self, typed: str) -> Lookup:
        text = normalise(typed)
        if not text:
            return Lookup("unknown")
        for token in text.split():
            if _POSTCODE.match(token):
                return self._postcode(token)
        stripped = _strip_leading(text)
        first, _, rest = stripped.partition(" ")
        if rest and _CODE.match(first):  # « 35 Ille-et-Vilaine », « 75 Paris »
            by_code = self._code(first)
            if by_code.place is not None and self._exact(rest) == by_code:
                return by_code
        for candidate in dict.fromkeys((text, stripped)):
            if _CODE.match(candidate):
                return self._code(candidate)
            exact = self._exact(candidate)
            if exact is not None:
                return exact
        return self._fuzzy(stripped)

    def _exact(self, name: str) -> Lookup | None:
        places = self._names.get(name)
        if not places:
            return None
        if len({p.region.id for p in places}) == 1:
            # « Guadeloupe » is a region and its one department: the department says more.
            return Lookup("found", max(places, key=lambda p: p.department is not None))
        return Lookup("ambiguous", candidates=tuple(places[:MAX_CANDIDATES]))

    def _fuzzy(self, text: str) -> Lookup:
        if not text or len(text) < 3:
            return Lookup("unknown")
        scored = process.extract(text, self._choices, scorer=fuzz.ratio, limit=12)
        best: dict[Place, float] = {}
        for name, score, _ in scored:
            for place in self._names[name]:
                best[place] = max(best.get(place, 0.0), score)
        ranked = sorted(best.items(), key=lambda item: -item[1])
        ranked = [(p, s) for p, s in ranked if s >= FUZZY_FLOOR]
        if not ranked:
            return Lookup("unknown")
        first, score = ranked[0]
        others = [(p, s) for p, s in ranked[1:] if p.key != first.key]
        if score >= FUZZY_SURE and (not others or score - others[0][1] >= FUZZY_MARGIN):
            return Lookup("found", first, guessed=True)
        return Lookup("ambiguous", candidates=tuple(p for p, _ in ranked[:MAX_CANDIDATES]))

    def _postcode(self, code: str) -> Lookup:
        if code in _OUTSIDE_POSTCODES or code.startswith(("975", "977", "978", "98")):
            return Lookup("outside")
        if code.startswith("97"):
            return self._code(code[:3])
        if code.startswith("20"):
            return self._code("2a" if int(code[2:]) < 200 else "2b")
        return self._code(code[:2])

    def _code(self, code: str) -> Lookup:
        code = code.upper().zfill(2)
        if code == "20":  # the old code of Corsica: both of its departments
            region = self.territories.region("corse")
            return Lookup("found", Place(region)) if region else Lookup("unknown")
        department = self.territories.department(code)
        if department is None:
            return Lookup("outside" if code in {"975", "977", "978", "986", "987", "988"}
                          else "unknown")
        region = self.territories.region(department.region_id)
        assert region is not None
        return Lookup("found", Place(region, department))

    # --- inside a question ---------------------------------------------------------

    def find_in(self, question: str) -> Place | None:
        """The place a question names, or None: exact names only, never a typo."""
        for postcode in _POSTCODE_IN_QUESTION.findall(question):
            found = self._postcode(postcode)
            if found.place is not None:
                return found.place
        words = normalise(question).split()
        for i, word in enumerate(words):
            anchored = i > 0 and (words[i - 1] in _ANCHORS or (
                words[i - 1] in _ARTICLES and i > 1 and words[i - 2] in _ANCHORS))
            if anchored and _CODE.match(word) and words[i - 1] in {"le", "departement"}:
                found = self._code(word)
                if found.place is not None:
                    return found.place
            for size in range(min(self._longest, len(words) - i), 0, -1):
                name = " ".join(words[i:i + size])
                if name in self._names and (anchored or name in self._regions_anywhere):
                    exact = self._exact(name)
                    if exact is not None and exact.place is not None:
                        return exact.place
        return None


def _strip_leading(text: str) -> str:
    """« la région Bretagne », « département du Nord » → « bretagne », « nord »."""
    words = text.split()
    while len(words) > 1 and words[0] in _LEADING:
        words = words[1:]
    return " ".join(words)
