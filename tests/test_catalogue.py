"""The one message catalogue: every key the code asks for exists, with its placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.texts import TEXTS_FILE, texts
from flows.catalogue import load_texts
from flows.yamlsource import ContentError

ROOT = Path(__file__).resolve().parent.parent
# say("k"), turn.say("k"), texts("k"), texts()("k"), turn.texts("k"), text("k") (kb CLI).
USE = re.compile(r'(?:say|texts|texts\(\)|text)\(\s*"([a-z_]+(?:\.[a-z_]+)+)"')


def _keys_used() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        found = set(USE.findall(path.read_text(encoding="utf-8")))
        if found:
            used[str(path.relative_to(ROOT))] = found
    return used


def test_every_key_the_code_uses_is_in_the_catalogue():
    catalogue = texts()
    used = _keys_used()
    assert len(used) >= 8, sorted(used)  # the pattern still finds the modules that talk
    # Modules that speak of one thing read a scope of it (``texts().scoped("kb")``).
    scopes = ("", "kb.", "kb.cli.", "workshop.")
    missing = {module: sorted(k for k in keys
                              if not any(catalogue.has(scope + k) for scope in scopes))
               for module, keys in used.items()}
    assert not {m: k for m, k in missing.items() if k}


def test_a_duplicated_key_is_reported_with_its_line(tmp_path):
    broken = tmp_path / "texts.fr.yaml"
    broken.write_text("welcome: Bonjour\nmenu:\n  start: A\n  start: B\n", encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_texts(broken)
    assert caught.value.line == 4 and "deux fois" in str(caught.value)


def test_the_shipped_catalogue_loads():
    assert load_texts(TEXTS_FILE).has("privacy.notice")
