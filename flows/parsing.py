"""Turning what a person typed into the value a step expects.

Kept apart from the engine because it is where tolerance lives: « 2 », « 2. »,
« deux » is not supported but « Plutôt un frein » is, « oui », « OUI », « o »,
« 1,3 » for several choices, « 12,5 » for a number. An input that cannot be read
gives an ``Invalid`` with the key of the message that explains what to type.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flows.folding import fold
from flows.model import Step

# Invisible and direction-changing characters; U+200C/U+200D (joiners) are kept because
# emoji sequences such as 👩‍👩‍👧 or 🏳️‍🌈 are made with them.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
_JOINERS = re.compile(r"[\u200c\u200d]")
_LEADING_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.)/:-]?\s*(.*)$", re.DOTALL)
_NUMBER = re.compile(r"^([-+]?\d[\d\s\u00a0\u202f]*(?:[.,]\d+)?)\s*[^\d\s]{0,3}$")
_YES = {"oui", "o", "yes", "y", "ok", "d'accord", "daccord", "ouais", "1", "vrai", "bien sur"}
_NO = {"non", "n", "no", "2", "faux", "pas du tout"}


@dataclass(frozen=True, slots=True)
class Parsed:
    value: Any
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Invalid:
    key: str
    """Key of the explanation in ``bot/texts.fr.yaml``."""
    params: dict[str, Any] = field(default_factory=dict)


def clean_text(text: str) -> str:
    """Remove control and invisible characters; keep line breaks; trim."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text).strip()
    return text if _JOINERS.sub("", text).strip() else ""


def parse_answer(step: Step, raw: str) -> Parsed | Invalid:
    text = clean_text(raw)
    if not text:
        return Invalid("invalid.empty")
    match step.type:
        case "text":
            return _parse_text(step, text)
        case "choice" | "scale":
            return _parse_single(step, text)
        case "multichoice":
            return _parse_multi(step, text)
        case "yesno":
            return _parse_yesno(text)
        case "number":
            return _parse_number(step, text)
    raise AssertionError(step.type)


def _parse_text(step: Step, text: str) -> Parsed | Invalid:
    if len(text) > step.max_length:
        return Invalid("invalid.too_long", {"max": step.max_length, "length": len(text)})
    return Parsed(text)


def _option_value(step: Step, index: int) -> Any:
    option = step.options[index - 1]
    return index if step.type == "scale" else option.value


def _parse_single(step: Step, text: str) -> Parsed | Invalid:
    n = len(step.options)
    invalid = Invalid(f"invalid.{step.type}", {"max": n})
    match = _LEADING_NUMBER.match(text)
    if match:
        index = int(match.group(1))
        rest = clean_text(match.group(2))
        if not 1 <= index <= n:
            return invalid
        if rest and (not step.comment or not any(c.isalpha() for c in rest)):
            # « 2 » is clear; « 2 ans » in a choice, or « 1 000 », are not: ask again.
            return invalid
        if len(rest) > step.max_length:
            return Invalid("invalid.too_long", {"max": step.max_length, "length": len(rest)})
        return Parsed(_option_value(step, index), rest)
    folded = fold(text)
    for index, option in enumerate(step.options, start=1):
        # A scale's values are its numbers: only its labels may be typed out.
        names = (fold(option.label),) if step.type == "scale" else (
            fold(option.label), fold(option.value))
        if folded in names:
            return Parsed(_option_value(step, index))
    return invalid


def _parse_multi(step: Step, text: str) -> Parsed | Invalid:
    n = len(step.options)
    invalid = Invalid("invalid.multichoice", {"max": n})
    parts = [p for p in re.split(r"\s*(?:[,;/+]|\bet\b|\s)\s*", fold(text)) if p]
    if parts and all(p.isdigit() for p in parts):
        indexes = sorted({int(p) for p in parts})
        if not all(1 <= i <= n for i in indexes):
            return invalid
        return Parsed([step.options[i - 1].value for i in indexes])
    labels = [fold(p) for p in re.split(r"\s*[,;]\s*", text) if p.strip()]
    values: list[str] = []
    for label in labels:
        option = next(
            (o for o in step.options if label in (fold(o.label), fold(o.value))), None
        )
        if option is None:
            return invalid
        if option.value not in values:
            values.append(option.value)
    order = [o.value for o in step.options]
    return Parsed(sorted(values, key=order.index)) if values else invalid


def _parse_yesno(text: str) -> Parsed | Invalid:
    folded = fold(text)
    if folded in _YES:
        return Parsed(True)
    if folded in _NO:
        return Parsed(False)
    return Invalid("invalid.yesno")


def _parse_number(step: Step, text: str) -> Parsed | Invalid:
    match = _NUMBER.match(text)
    if not match:
        return Invalid("invalid.number", _bounds(step))
    digits = re.sub(r"[\s\u00a0\u202f]", "", match.group(1)).replace(",", ".")
    try:
        value: int | float = float(digits) if "." in digits else int(digits)
    except ValueError:
        return Invalid("invalid.number", _bounds(step))
    if (step.min is not None and value < step.min) or (step.max is not None and value > step.max):
        return Invalid("invalid.number_range", _bounds(step))
    return Parsed(value)


def _bounds(step: Step) -> dict[str, Any]:
    def show(v: float | None) -> str:
        return "" if v is None else (str(int(v)) if float(v).is_integer() else str(v))

    return {"min": show(step.min), "max": show(step.max)}
