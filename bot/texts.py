"""The message catalogue: user-facing French kept in ``texts.fr.yaml``.

Keys are dotted paths (``invalid.choice``). A missing key or a placeholder that
the code does not provide is a bug caught by ``coopbot check`` and the tests,
not something a user should ever read.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flows.yamlsource import ContentError, load_yaml

TEXTS_FILE = Path(__file__).parent / "texts.fr.yaml"


@dataclass(frozen=True)
class Texts:
    entries: dict[str, str]
    path: str

    def __call__(self, key: str, **params: Any) -> str:
        template = self.entries[key]
        return template.format(**params).strip() if params else template.strip()

    def has(self, key: str) -> bool:
        return key in self.entries

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


def load_texts(path: Path = TEXTS_FILE) -> Texts:
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


@lru_cache(maxsize=1)
def texts() -> Texts:
    return load_texts()
