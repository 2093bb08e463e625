"""The HTML framing note and Charte self-check, rendered by a real browser.

A facilitator forwards the HTML export or prints it to PDF from a browser; these
tests render the page with headless Chromium and check the screenshot is a page
with content (not blank, not an error page). They run where ``/usr/bin/chromium``
is installed (Debian package ``chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from flows.loader import load_flow
from flows.model import Flow
from flows.summaries import SummaryInput, summarise
from storage.records import Answers, SessionRecord
from storage.reports.exports import build_export

CHROMIUM = Path("/usr/bin/chromium")
DEFINITIONS = Path(__file__).resolve().parent.parent / "flows" / "definitions"
HOSTILE = "<script>document.title='pirate'</script> **gras**"

pytestmark = pytest.mark.chromium

CADRAGE: dict[str, Any] = {
    "projet": "Réaménager la place du marché de Belair avec ses usagers\n" + HOSTILE,
    "cadre": "volontaire",
    "porteur": "Commune de Belair, service urbanisme",
    "decideur": "Le conseil municipal",
    "attentes": ["connaissance", "qualite"],
    "niveau": "concertation",
    "role_decision": "Les propositions retenues iront au conseil municipal",
    "objet_debat": "Les usages de la place",
    "marges": "Mobilier, végétalisation",
    "scenarios": False,
    "publics": ["citoyens", "eloignes"],
    "formats": ["ateliers", "terrain"],
    "calendrier": "Janvier à mars, décision en juin",
    "moyens_humains": "personne",
    "moyens_financiers": "aucun",
    "facilitateur": "non",
    "garant": "envisage",
    "information": ["site"],
    "retour": "pas_prevu",
}


def _summary(flow: Flow, answers: dict[str, Any]) -> dict[str, Any]:
    return summarise(SummaryInput(flow, answers, {}))


def full_page(flow: Flow, answers: dict[str, Any], chart_png_b64: str | None = None) -> str:
    """The whole HTML document a user receives from ``/export html``.

    Built by the same export code as ``/export html``.
    """
    updated = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)
    summary = _summary(flow, answers)
    record = SessionRecord(
        id=1, user_id=1, flow_id=flow.id, flow_version=flow.version, status="completed",
        history=tuple(answers), selection=(),
        answers=Answers({k: {"value": v, "at": updated.isoformat()} for k, v in answers.items()}),
        workshop_id=None, started_at=updated, updated_at=updated, summary=summary,
    )
    document = build_export([record], {flow.id: flow}, "html", "alice")
    return document.content.decode("utf-8")


def screenshot(html: str, tmp_path: Path) -> Path:
    page = tmp_path / "note.html"
    page.write_text(html, encoding="utf-8")
    png = tmp_path / "note.png"
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={png}", "--window-size=1000,1400", page.as_uri(),
    ]
    subprocess.run(command, capture_output=True, timeout=120, check=False)
    return png


def ink_fraction(png: Path) -> float:
    """Share of pixels that are clearly not white: text, rules, bars."""
    from PIL import Image

    image = Image.open(png).convert("L")
    histogram = image.histogram()
    dark = sum(histogram[:200])
    return dark / (image.width * image.height)


def needs_chromium() -> None:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip("Chromium absent: apt-get install -y chromium to render the HTML note")


def test_framing_note_renders_as_a_readable_page(tmp_path: Path) -> None:
    needs_chromium()
    flow = load_flow(DEFINITIONS / "cadrage.yaml")
    html = full_page(flow, CADRAGE)
    assert "<script>document.title" not in html          # the user's script stays text
    png = screenshot(html, tmp_path)
    assert png.exists() and png.stat().st_size > 20_000
    from PIL import Image

    with Image.open(png) as image:
        assert image.size == (1000, 1400)
    fraction = ink_fraction(png)
    assert 0.01 < fraction < 0.6, fraction                 # text on a white page


def test_charte_page_embeds_its_chart(tmp_path: Path) -> None:
    needs_chromium()
    import base64

    from storage.reports.charts import render_chart

    flow = load_flow(DEFINITIONS / "charte.yaml")
    answers: dict[str, Any] = {s.id: 2 for s in flow.steps if s.meta.get("article")}
    answers.update({"a3_aller_vers": 3, "a3_diversite": 3, "projet": "Plan vélo"})
    png_chart = render_chart("charte", _summary(flow, answers))
    assert png_chart is not None
    html = full_page(flow, answers, base64.b64encode(png_chart).decode())
    assert "data:image/png;base64," in html
    png = screenshot(html, tmp_path)
    assert png.exists() and png.stat().st_size > 20_000
    assert ink_fraction(png) > 0.02
