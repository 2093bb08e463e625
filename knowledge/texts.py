"""User-facing French of the knowledge base, read from ``texts.fr.yaml``.

Kept out of the code so that a content editor can reword a message without a developer.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from flows.yamlsource import load_yaml

TEXTS_PATH = Path(__file__).parent / "texts.fr.yaml"


@lru_cache(maxsize=1)
def _texts() -> dict[str, Any]:
    return load_yaml(TEXTS_PATH)


def text(key: str) -> str:
    """The text at a dotted key, e.g. ``text("unknown.intro")``."""
    node: Any = _texts()
    for part in key.split("."):
        node = node[part]
    return str(node).strip()


@lru_cache(maxsize=1)
def _acronyms() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    glossary = _texts().get("sigles") or {}
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
