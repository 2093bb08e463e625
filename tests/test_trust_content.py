"""What people read never cites internal notes nor shows an internal doubt (issue 14).

Flow definitions are read as data (YAML comments are for editors and are left out);
templates are read without their Jinja comments; the knowledge base is checked in
test_knowledge_content.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BANNED = ("notes §", "notes de recherche", "research notes", "n'a pas pu être vérifi",
          "non vérifié", "pas vérifié", "nos sources", "seed 0")
TEXT_FILES = [
    *sorted((ROOT / "flows" / "definitions").glob("*.yaml")),
    ROOT / "knowledge" / "advisor.fr.yaml",
    ROOT / "knowledge" / "glossary.fr.yaml",
    ROOT / "bot" / "texts.fr.yaml",
]
TEMPLATES = sorted((ROOT / "storage" / "reports" / "templates").rglob("*.j2"))
assert len(TEMPLATES) >= 15, "the templates moved: point TEMPLATES at them"


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda p: p.name)
def test_flow_and_advisor_texts_cite_no_internal_notes(path: Path) -> None:
    texts = _strings(yaml.safe_load(path.read_text(encoding="utf-8")))
    for text in texts:
        for phrase in BANNED:
            assert phrase not in text, (path.name, phrase, text[:80])


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_cite_no_internal_notes(path: Path) -> None:
    source = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)
    for phrase in BANNED:
        assert phrase not in source, (path.name, phrase)
