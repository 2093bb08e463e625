"""YAML loading that remembers where each mapping came from.

Content files are edited by people who are not developers; an error that says
« fichier facteurs.yaml, ligne 42 » saves them a search. PyYAML knows the line of
every node while composing, so a loader subclass keeps it on each mapping. The C
parser (libyaml) is used when PyYAML has it: it parses the content about ten times
faster, which start-up of ``coopbot ask`` and ``coopbot chat`` feels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class LineDict(dict):
    """A dict from YAML that knows its 1-based line in the source file."""

    line: int = 0


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:  # PyYAML would keep the last one, silently
                raise yaml.constructor.ConstructorError(
                    None, None, f"la clé « {key} » apparaît deux fois", key_node.start_mark)
            seen.add(key)
        mapping = LineDict(yaml.SafeLoader.construct_mapping(self, node, deep=deep))
        mapping.line = node.start_mark.line + 1
        return mapping


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _LineLoader.construct_mapping,
)


@dataclass(frozen=True)
class ContentError(Exception):
    """A problem in a content file, said so that its editor can fix it."""

    path: str
    line: int
    where: str
    problem: str

    def __str__(self) -> str:
        place = f"{self.path}, ligne {self.line}" if self.line else self.path
        if self.where:
            place += f" ({self.where})"
        return f"{place} : {self.problem}"


def load_yaml(path: Path) -> Any:
    """Parse one content file; syntax errors become a ``ContentError`` with the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(str(path), 0, "", f"le fichier n'est pas en UTF-8 ({exc})") from exc
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise ContentError(str(path), line, "", f"YAML invalide : {exc.problem}") from exc


def line_of(value: Any) -> int:
    return getattr(value, "line", 0)
