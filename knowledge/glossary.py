"""Acronyms spelled out at their first use in a message: « SCIC (société coopérative…) ».

The glossary is content (``glossary.fr.yaml``), so that an editor adds an acronym
without touching the entries that use it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from flows.yamlsource import load_yaml

GLOSSARY_PATH = Path(__file__).parent / "glossary.fr.yaml"


@lru_cache(maxsize=1)
def _glossary() -> dict[str, Any]:
    return load_yaml(GLOSSARY_PATH)


PLURAL_BEFORE = frozenset({
    "les", "des", "aux", "ces", "deux", "trois", "plusieurs", "leurs", "nos", "vos",
    "quelques", "certaines", "certains", "autres", "nombreuses", "nombreux",
})
"""A word before the acronym that makes it plural: « les EPCI (établissements publics…) »."""
NAME_BEFORE = frozenset({"loi"})
"""A word that makes the acronym part of a name (« la loi ESS de 2014 »): not spelled out
there, where « loi ESS (économie sociale et solidaire) » would read as a typo."""
_LAST_WORD = re.compile(r"([\w’'-]+)[\s*]*$")


@lru_cache(maxsize=1)
def _plurals() -> dict[str, str]:
    return {str(k): str(v) for k, v in (_glossary().get("pluriels") or {}).items()}


def _previous_word(before: str) -> str:
    match = _LAST_WORD.search(before)
    return match.group(1).lower().split("’")[-1].split("'")[-1] if match else ""


@lru_cache(maxsize=1)
def _acronyms() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    glossary = _glossary().get("sigles") or {}
    found = []
    for short, long in glossary.items():
        # Not inside a word, a URL or a proper name (« ESS France », « CRESS PACA »).
        pattern = re.compile(
            rf"(?<![\w/.-]){re.escape(str(short))}"
            rf"(?![\w’/-]|\.\w|\s+(?:France|[A-Z]{{2,}}))"
        )
        found.append((str(short), str(long), pattern))
    return tuple(found)


def spell_out(value: str) -> str:
    """Develop each known acronym at its first use in one bubble: « SCIC (société…) ».

    An acronym already explained in the text (« … (SCIC) », or its expansion written
    out) is left alone. The expansion agrees with the acronym: plural after « les »,
    « des »… (``pluriels`` in the glossary); none inside a bold name that carries its own
    parentheses (« **union régionale des SCOP et des SCIC (URSCOP)** ») or in « loi ESS ».
    """
    lowered = value.lower()
    for short, long, pattern in _acronyms():
        plural = _plurals().get(short, long).lower()
        if (f"({short})" in value or f"({short}," in value or long.lower() in lowered
                or plural in lowered):
            continue
        for match in pattern.finditer(value):
            before = value[: match.start()]
            if before.count("(") > before.count(")"):
                continue  # inside parentheses: « (…, ESAT…) » would nest
            if value[match.end() :].lstrip(" *").startswith("("):
                continue  # already followed by parentheses: « SCIC (URSCOP) »
            if before.count("**") % 2 and "(" in value[match.end():].split("**", 1)[0]:
                continue  # in a bold name with its own parentheses: « **… des SCOP (URSCOP)** »
            previous = _previous_word(before)
            if previous in NAME_BEFORE:
                continue
            expansion = _plurals().get(short, long) if previous in PLURAL_BEFORE else long
            value = f"{before}{short} ({expansion}){value[match.end() :]}"
            break
    return value
