"""Message catalogues: user-facing French kept in a YAML file, read by dotted key.

Keys are dotted paths (``invalid.choice``, ``privacy.notice``). A missing key or a
placeholder that the code does not provide is a bug caught by ``coopbot check`` and
the tests, not something a user should ever read. The catalogue itself is
``bot/texts.fr.yaml``; it lives above, this is only how any catalogue is read.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.yamlsource import ContentError, load_yaml


@dataclass(frozen=True)
class Texts:
    entries: dict[str, str]
    path: str
    _scopes: dict[str, Texts] = field(default_factory=dict, repr=False, compare=False)

    def __call__(self, key: str, **params: Any) -> str:
        template = self.entries[key]
        return template.format(**params).strip() if params else template.strip()

    def has(self, key: str) -> bool:
        return key in self.entries

    def scoped(self, prefix: str) -> Texts:
        """The texts under ``prefix.``, with keys relative to it (for a module that
        only speaks of one thing, such as a workshop synthesis)."""
        known = self._scopes.get(prefix)
        if known is None:
            start = prefix + "."
            known = self._scopes[prefix] = Texts(
                {k[len(start):]: v for k, v in self.entries.items() if k.startswith(start)},
                self.path)
        return known

    def placeholders(self, key: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.entries[key]) if name}


def _flatten(data: Any, prefix: str, out: dict[str, str], path: Path) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            _flatten(value, f"{prefix}{key}.", out, path)
        return
    if not isinstance(data, str):
        raise ContentError(str(path), 0, prefix.rstrip("."), "chaque texte doit être une chaîne.")
    out[prefix.rstrip(".")] = data


def load_texts(path: Path) -> Texts:
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ContentError(str(path), 0, "", "le fichier doit associer des clés à des textes.")
    entries: dict[str, str] = {}
    _flatten(data, "", entries, path)
    for key, text in entries.items():
        try:
            list(string.Formatter().parse(text))
        except ValueError as exc:
            raise ContentError(str(path), 0, key, f"accolade mal fermée ({exc}).") from exc
    return Texts(entries, str(path))
