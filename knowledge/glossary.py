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
    out) is left alone.
    """
    lowered = value.lower()
    for short, long, pattern in _acronyms():
        if f"({short})" in value or f"({short}," in value or long.lower() in lowered:
            continue
        for match in pattern.finditer(value):
            before = value[: match.start()]
            if before.count("(") > before.count(")"):
                continue  # inside parentheses: « (…, ESAT…) » would nest
            if value[match.end() :].lstrip(" *").startswith("("):
                continue  # already followed by parentheses: « SCIC (URSCOP) »
            value = f"{before}{short} ({long}){value[match.end() :]}"
            break
    return value
