"""Text compared without case or accents: the one folding every layer uses.

« Élu », « elu » and « ÉLU » must meet: in typed answers (« Plutôt un frein »), in
search queries, in option slugs. One table for French letters keeps the common
case fast; other scripts go through Unicode decomposition.
"""

from __future__ import annotations

import re
import unicodedata

_LETTERS = str.maketrans(
    {
        **dict(zip("àâäáãåçéèêëíìîïñóòôöõúùûüýÿ", "aaaaaaceeeeiiiinooooouuuuyy", strict=True)),
        **dict(zip("ÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝ", "AAAAAACEEEEIIIINOOOOOUUUUY", strict=True)),
        "œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE",
        "’": "'", "‘": "'", "´": "'",
    }
)
_NOT_WORD = re.compile(r"[^\w' ]+")
_SPACES = re.compile(r"\s+")


def strip_accents(text: str) -> str:
    """« Coopérative œcuménique » → « Cooperative oecumenique »; case is kept."""
    text = text.translate(_LETTERS)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower case, no accents, punctuation as spaces, single spaces: for comparing labels."""
    folded = strip_accents(text.casefold())
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", folded)).strip()
