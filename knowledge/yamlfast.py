"""YAML loading with line numbers, using libyaml when it is installed.

Same contract as :func:`flows.yamlsource.load_yaml` (mappings know their line, errors
are ``ContentError``), but the C parser keeps ``coopbot ask`` start-up short: the
knowledge base is parsed on every command-line call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from flows.yamlsource import ContentError, LineDict, line_of

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FastLineLoader(_Base):  # type: ignore[misc, valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        mapping = LineDict(yaml.SafeLoader.construct_mapping(self, node, deep=deep))
        mapping.line = node.start_mark.line + 1
        return mapping


_FastLineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _FastLineLoader.construct_mapping
)


def load_yaml_fast(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(str(path), 0, "", f"le fichier n'est pas en UTF-8 ({exc})") from exc
    try:
        return yaml.load(text, Loader=_FastLineLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise ContentError(str(path), line, "", f"YAML invalide : {exc.problem}") from exc


__all__ = ["line_of", "load_yaml_fast"]
