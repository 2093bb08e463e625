"""Content errors tell the editor the file, the line and the entry, and ``check`` lists
all of them at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.yamlsource import ContentError
from knowledge.base import CONTENT_DIR, check_knowledge, load_knowledge

GOOD = """\
- id: forme/essai
  kind: forme
  title: Forme d'essai
  questions: [c'est quoi une forme d'essai, forme essai definition]
  answer: Une réponse courte.
  sources: [Source d'essai]
"""


def _content(tmp_path: Path, text: str) -> Path:
    for name in ("_lexique.yaml", "_domains.yaml"):
        shutil.copy(CONTENT_DIR / name, tmp_path / name)
    (tmp_path / "fiches.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_valid_file_loads(tmp_path: Path) -> None:
    kb = load_knowledge(_content(tmp_path, GOOD))
    assert [e.id for e in kb.entries] == ["forme/essai"]
    assert kb.ask("c'est quoi une forme d'essai").answers[0].entry.id == "forme/essai"


def test_error_names_file_line_and_entry(tmp_path: Path) -> None:
    bad = (
        GOOD
        + """\
- id: forme/longue
  kind: forme
  title: Trop longue
  questions: [a, b]
  answer: "{}"
  sources: [x]
""".format("x" * 700)
    )
    with pytest.raises(ContentError) as caught:
        load_knowledge(_content(tmp_path, bad))
    error = caught.value
    assert error.path.endswith("fiches.yaml")
    assert error.line == 7
    assert "forme/longue" in error.where
    assert "700" in error.problem


def test_check_lists_every_problem(tmp_path: Path) -> None:
    bad = """\
- id: forme/a
  kind: forme
  title: A
  questions: [une seule]
  answer: court
  sources: []
- id: contact/b
  kind: forme
  title: B
  questions: [q1, q2]
  answer: court
  sources: [s]
  links: [{title: Site, url: "https://www.exemple-inconnu.fr/page"}]
  see_also: [forme/nexistepas]
  couleur: bleu
- id: forme/a
  kind: forme
  title: A bis
  questions: [q1, q2]
  answer: court
  sources: [s]
"""
    problems = check_knowledge(_content(tmp_path, bad))
    text = "\n".join(str(p) for p in problems)
    assert "deux « questions »" in text
    assert "au moins une source" in text
    assert "« kind/ »" not in text
    assert "doit commencer par « forme/ »" in text
    assert "exemple-inconnu.fr" in text
    assert "clé inconnue « couleur »" in text
    assert "déjà utilisé" in text
    assert all("ligne" in str(p) for p in problems)


def test_missing_related_entry_is_reported(tmp_path: Path) -> None:
    text = GOOD + "  see_also: [notion/absente]\n"
    problems = check_knowledge(_content(tmp_path, text))
    assert len(problems) == 1
    assert "notion/absente" in str(problems[0]) and "ligne 1" in str(problems[0])


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    problems = check_knowledge(_content(tmp_path, GOOD + "- id: [oups\n"))
    assert problems and problems[0].line > 0
    assert "YAML invalide" in problems[0].problem


def test_unquoted_yaml_booleans_are_reported(tmp_path: Path) -> None:
    text = GOOD.replace("sources: [Source d'essai]", "sources: [Source]\n  keywords: [on, off]")
    problems = check_knowledge(_content(tmp_path, text))
    assert len(problems) == 1
    assert "guillemets" in problems[0].problem
