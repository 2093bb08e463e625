"""One rounding, one way to show an answer: what a reader sees in every summary and export."""

from __future__ import annotations

from fractions import Fraction

from flows.loader import load_flow
from flows.numbers import mean, percent, rounded
from flows.registry import DEFINITIONS_DIR
from flows.views import display_value


def test_halves_round_up_as_a_reader_rounds():
    assert rounded(Fraction(5, 4)) == 1.3  # round() would say 1.2
    assert rounded(Fraction(25, 8), 2) == 3.13
    assert percent(1, 8) == 13  # 12,5 %
    assert percent(0, 0) == 0
    assert mean([]) is None and mean([1, 2]) == Fraction(3, 2)
    assert rounded(None) is None


def test_an_answer_reads_the_same_in_every_report():
    flow = load_flow(DEFINITIONS_DIR / "facteurs.yaml")
    role, scale = flow.step("role"), flow.step("valeur")
    assert display_value(role, "elu") == "Élu ou élue"
    assert display_value(scale, 3) == "3 – Plutôt un levier"
    assert display_value(scale, 3, scale_number=False) == "Plutôt un levier"
    assert display_value(None, True) == "Oui" and display_value(None, False) == "Non"
    assert display_value(None, 12.5) == "12,5" and display_value(None, 3.0) == "3"
    assert display_value(None, None) == ""
