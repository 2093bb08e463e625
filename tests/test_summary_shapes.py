"""Every summary has exactly the keys its declared shape says (flows.summaries.shapes):
the shape readers rely on — templates, exports, charts — is the one stored."""

from __future__ import annotations

from typing import get_type_hints

import pytest

from bot.check import synthetic_answers
from bot.testing import shared_content
from flows.summaries import shapes

SHAPES = {"facteurs": shapes.FacteursSummary, "cadrage": shapes.CadrageSummary,
          "charte": shapes.CharteSummary, "relation": shapes.RelationSummary,
          "statut": shapes.StatutSummary}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_a_summary_has_the_keys_of_its_shape(name):
    content = shared_content()
    [flow] = [f for f in content.flows.values() if f.summary == name]
    summary = content.summarise(flow, synthetic_answers(flow), {})
    assert set(summary) == set(get_type_hints(SHAPES[name]))
    if name == "facteurs":
        assert set(summary["families"][0]) == set(get_type_hints(shapes.Family))
        assert set(summary["overall"]) == set(get_type_hints(shapes.Overall))
    if name == "cadrage" and summary["gaps"]:
        assert set(summary["gaps"][0]) == set(get_type_hints(shapes.Gap))
    if name == "charte":
        assert set(summary["articles"][0]) == set(get_type_hints(shapes.ArticleScore))
