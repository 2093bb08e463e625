"""User-facing French of the knowledge base, read from ``texts.fr.yaml``.

Kept out of the code so that a content editor can reword a message without a developer.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from knowledge.yamlfast import load_yaml_fast

TEXTS_PATH = Path(__file__).parent / "texts.fr.yaml"


@lru_cache(maxsize=1)
def _texts() -> dict[str, Any]:
    return load_yaml_fast(TEXTS_PATH)


def text(key: str) -> str:
    """The text at a dotted key, e.g. ``text("unknown.intro")``."""
    node: Any = _texts()
    for part in key.split("."):
        node = node[part]
    return str(node).strip()
