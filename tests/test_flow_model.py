"""Loading a flow file: every mistake an editor can make is reported with file, step and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.loader import load_flow
from flows.registry import check_flows, load_flows
from flows.yamlsource import ContentError

GOOD = """\
id: essai
title: Essai
steps:
  - id: role
    ask: Votre rôle ?
    type: choice
    options: [Élu, Agent]
  - id: avis
    ask: Votre avis ?
    type: text
"""


def write(tmp_path: Path, text: str, name: str = "essai.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_flow_loads_with_a_version(tmp_path):
    flow = load_flow(write(tmp_path, GOOD))
    assert [s.id for s in flow.steps] == ["role", "avis"]
    assert [o.value for o in flow.steps[0].options] == ["elu", "agent"]
    assert len(flow.version) == 6


def test_changing_the_file_changes_the_version(tmp_path):
    first = load_flow(write(tmp_path, GOOD)).version
    second = load_flow(write(tmp_path, GOOD.replace("Votre avis", "Votre opinion"))).version
    assert first != second


@pytest.mark.parametrize(
    ("change", "line", "where", "words"),
    [
        (("type: text", "type: texte"), 8, "avis", "type « texte » inconnu"),
        (("options: [Élu, Agent]", "options: [Élu]"), 4, "role", "au moins deux"),
        (("  - id: avis", "  - id: role"), 8, "role", "déjà utilisé"),
        (("    ask: Votre avis ?\n", ""), 8, "avis", "« ask » est obligatoire"),
        (("    type: text\n", "    type: text\n    when: {step: nulle, in: [x]}\n"), 8, "avis",
         "n'est pas une question précédente"),
        (("    type: text\n", "    type: text\n    optionnel: true\n"), 8, "avis",
         "clé inconnue « optionnel »"),
        (("options: [Élu, Agent]", "options: [{value: elu, label: Élu, aide: x}, Agent]"),
         7, "role", "clé inconnue « aide »"),
    ],
)
def test_mistakes_name_the_file_the_step_and_the_line(tmp_path, change, line, where, words):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ContentError) as caught:
        load_flow(path)
    error = caught.value
    assert error.path == str(path)
    assert error.line == line
    assert where in error.where
    assert words in error.problem
    assert f"ligne {line}" in str(error) and "essai.yaml" in str(error)


def test_yaml_syntax_errors_give_the_line(tmp_path):
    path = write(tmp_path, GOOD.replace("    ask: Votre avis ?", "    ask: [Votre avis ?"))
    with pytest.raises(ContentError) as caught:
        load_flow(path)
    assert caught.value.line >= 9
    assert "YAML invalide" in str(caught.value)


def test_check_reports_every_broken_file(tmp_path):
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD.replace("type: text", "type: nope"), "b.yaml")
    write(tmp_path, GOOD.replace("id: essai", "id: autre").replace("type: choice", "type: x"),
          "c.yaml")
    problems = check_flows(tmp_path)
    assert sorted(Path(p.path).name for p in problems) == ["b.yaml", "c.yaml"]


def test_shipped_flows_are_valid():
    assert check_flows() == []
    flows = load_flows()
    assert {"facteurs", "cadrage", "relation", "charte"} <= set(flows)
