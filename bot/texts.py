"""Coopbot's one message catalogue, ``bot/texts.fr.yaml``, read once."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flows.catalogue import Texts, load_texts

TEXTS_FILE = Path(__file__).parent / "texts.fr.yaml"


@cache
def texts() -> Texts:
    return load_texts(TEXTS_FILE)


__all__ = ["TEXTS_FILE", "Texts", "texts"]
