"""Means, shares and their rounding, as a reader expects them: one way everywhere.

Rounded half up (1,25 → 1,3; 12,5 % → 13 %), not half to even as ``round`` does, from
exact fractions, so that a score never depends on floating-point accidents.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction


def mean(values: Sequence[int | float]) -> Fraction | None:
    return Fraction(sum(Fraction(v) for v in values), len(values)) if values else None


def half_up(value: Fraction | int | float, digits: int = 0) -> Decimal:
    exact = Fraction(value)
    decimal = Decimal(exact.numerator) / Decimal(exact.denominator)
    return decimal.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def rounded(value: Fraction | None, digits: int = 1) -> float | None:
    """``value`` to ``digits`` decimals (None stays None)."""
    return None if value is None else float(half_up(value, digits))


def percent(part: int | Fraction, whole: int | Fraction) -> int:
    """``part`` of ``whole`` in whole percents (0 when there is no whole)."""
    if not whole:
        return 0
    return int(half_up(Fraction(part) / Fraction(whole) * 100))
