"""Charts: valid PNGs that a phone can show, and no matplotlib on the start-up path."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flows.loader import load_flow
from flows.summaries import SummaryInput, summarise
from storage.reports.charts import render_chart
from storage.reports.charts.common import Bar, band_colour, decimal_fr, horizontal_bars, radar

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 150_000


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk (the first chunk of every PNG)."""
    assert data.startswith(PNG_SIGNATURE), "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def facteurs_summary(ratings: dict[str, Any]) -> dict[str, Any]:
    flow = load_flow(ROOT / "flows" / "definitions" / "facteurs.yaml")
    return summarise(SummaryInput(flow, {"role": "elu", **ratings}, {}))


def all_factors() -> list[str]:
    flow = load_flow(ROOT / "flows" / "definitions" / "facteurs.yaml")
    return [s.id for s in flow.steps if s.meta.get("family")]


def test_facteurs_chart_is_a_small_png_wide_enough_for_a_phone() -> None:
    ratings = {k: (i % 4) + 1 for i, k in enumerate(all_factors())}
    data = render_chart("facteurs", facteurs_summary(ratings))
    assert data is not None
    width, height = png_size(data)
    assert 800 <= width <= 1400 and 400 <= height <= 1400
    assert len(data) <= MAX_BYTES


def test_facteurs_chart_draws_a_family_that_was_not_assessed() -> None:
    factors = all_factors()
    ratings = {k: 2 for k in factors if k not in ("historique", "evenement", "identite")}
    summary = facteurs_summary(ratings)
    assert any(f["score"] is None for f in summary["families"])
    data = render_chart("facteurs", summary)
    assert data is not None and png_size(data)[0] >= 800


@pytest.mark.parametrize("rating", [1, 4])
def test_facteurs_chart_handles_the_extremes_of_the_scale(rating: int) -> None:
    data = render_chart("facteurs", facteurs_summary(dict.fromkeys(all_factors(), rating)))
    assert data is not None and data.startswith(PNG_SIGNATURE)


def test_no_chart_when_nothing_was_rated() -> None:
    assert render_chart("facteurs", facteurs_summary({})) is None
    assert render_chart("facteurs", {}) is None


def test_shared_bars_from_zero_for_percentages() -> None:
    """The form another chart (e.g. the Charte self-check) can reuse."""
    data = horizontal_bars(
        [Bar("Article 1", 75.0), Bar("Article 2", 0.0), Bar("Article 3", None),
         Bar("Article 4", 100.0)],
        title="Titre", low=0, high=100, ticks=[0, 50, 100], missing_label="—",
        value_text=lambda v: f"{v:.0f} %",
    )
    width, _ = png_size(data)
    assert width >= 800 and len(data) <= MAX_BYTES


def test_shared_radar_with_a_missing_axis() -> None:
    data = radar(["A", "B", "C", "D", "E"], [1.0, 2.5, None, 4.0, 3.2], title="Titre",
                 low=1, high=4, ticks=[1, 2, 3, 4], missing_label="—")
    width, height = png_size(data)
    assert width == height and len(data) <= MAX_BYTES


def test_numbers_are_written_the_french_way_and_colours_follow_the_scale() -> None:
    assert decimal_fr(2.5) == "2,5"
    assert decimal_fr(3, 0) == "3"
    colours = [band_colour(v, 1, 4) for v in (1.0, 2.0, 3.0, 4.0)]
    assert len(set(colours)) == 4


def test_summaries_and_chart_modules_do_not_import_matplotlib_at_start_up() -> None:
    code = (
        "import sys, flows.summaries, storage.reports.charts.facteurs, "
        "storage.reports.charts.common; "
        "print('matplotlib' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "False"


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """WCAG contrast ratio of two sRGB colours (channels 0–1)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_drawn_in_every_chart_is_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text in a picture must contrast 4.5:1 too (WCAG 1.4.3): every word and figure
    drawn on the white page (« non évalué » included), and white figures on a bar."""
    import matplotlib.colors
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from storage.reports.charts.common import FREIN_FORT, LEVIER_FORT

    drawn: list[tuple[str, tuple[float, ...]]] = []
    save = Figure.savefig

    def spy(self: Figure, *args: Any, **kwargs: Any) -> Any:
        drawn.extend((t.get_text(), matplotlib.colors.to_rgb(t.get_color()))
                     for t in self.findobj(Text) if t.get_text().strip() and t.get_visible())
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    factors = all_factors()
    ratings = {k: (i % 4) + 1 for i, k in enumerate(factors)
               if k not in ("historique", "evenement", "identite")}
    charte = load_flow(ROOT / "flows" / "definitions" / "charte.yaml")
    answers: dict[str, Any] = {s.id: 1 for s in charte.steps if s.meta.get("article")}
    first = [s.id for s in charte.steps if s.meta.get("article") == 1]
    answers.update({step: 4 for step in first})                 # article 1: « je ne sais pas »
    assert render_chart("facteurs", facteurs_summary(ratings))
    assert render_chart("charte", summarise(SummaryInput(charte, answers, {})))
    white = (1.0, 1.0, 1.0)
    assert any(colour != white for _, colour in drawn) and len(drawn) > 20
    for text, colour in drawn:
        if colour == white:                                     # inside a dark bar
            continue
        assert contrast(colour, white) >= 4.5, (text, colour)
    for bar in (FREIN_FORT, LEVIER_FORT):
        assert contrast(matplotlib.colors.to_rgb(bar), white) >= 4.5


def test_charts_are_drawn_without_pyplot_so_they_can_be_drawn_in_parallel() -> None:
    """pyplot's global figure registry made two charts at once unsafe: none is left."""
    code = (
        "import sys; from tests.test_charts import facteurs_summary, all_factors; "
        "from storage.reports.charts import render_chart; "
        "png = render_chart('facteurs', facteurs_summary(dict.fromkeys(all_factors(), 2))); "
        "print(png[:4] == b'\\x89PNG', 'matplotlib.pyplot' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["True", "False"]


def test_charts_drawn_at_once_in_threads_equal_those_drawn_one_by_one() -> None:
    from concurrent.futures import ThreadPoolExecutor

    summaries = [facteurs_summary(dict.fromkeys(all_factors(), r)) for r in (1, 2, 3, 4)] * 2
    alone = [render_chart("facteurs", s) for s in summaries]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda s: render_chart("facteurs", s), summaries))
    assert together == alone
    assert len(set(alone)) == 4  # four different pictures, none mixed with another
