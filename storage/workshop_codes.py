"""Workshop join codes: made, read back and shown.

Join codes are 9 characters from a 31-character alphabet without the look-alikes
0/O, 1/I/L (31⁹ ≈ 2⁴⁴·⁶, so about 44 bits: far beyond guessing at the pace the
wrong-code brake allows), shown in three groups (``K7Q-M3X-PW9``) and read in any
case, with or without dashes or spaces.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 9
GROUP = 3
WRONG_CODE_LIMIT = 5
WRONG_CODE_WINDOW = timedelta(minutes=15)
"""Past ``WRONG_CODE_LIMIT`` wrong codes within this window every code from that
person is refused until the window slides, the right one included, so that the
brake cannot be used to probe codes either."""
INVITE_LENGTH = 12
INVITE_LIFETIME = timedelta(hours=48)
_SEPARATORS = re.compile(r"[\s\-_.·–—]+")

assert len(set(ALPHABET)) == len(ALPHABET) == 31
assert not set("0O1IL") & set(ALPHABET)


def new_code(length: int = CODE_LENGTH) -> str:
    """A fresh normalised code (no dashes), from the OS's cryptographic generator."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalise_code(text: str, length: int = CODE_LENGTH) -> str | None:
    """``k7q-m3x pw9`` → ``K7QM3XPW9``; None when it cannot be such a code."""
    code = _SEPARATORS.sub("", text or "").upper()
    if len(code) != length or any(c not in ALPHABET for c in code):
        return None
    return code


def display_code(code: str, group: int = GROUP) -> str:
    """``K7QM3XPW9`` → ``K7Q-M3X-PW9``: easier to read aloud and to copy."""
    return "-".join(code[i:i + group] for i in range(0, len(code), group))
