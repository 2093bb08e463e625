"""The synthesis as files: escaping in every format, and the HTML page in a real browser.

Built from hand-made participations (no database): what matters here is that
text typed by participants or the facilitator stays text — HTML autoescaped,
Markdown neutralised, CSV cells never read as formulas — and that the HTML page
is self-contained, readable on a phone-sized window and printable.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.texts import texts
from bot.workshop_routes import charts, chat_messages
from flows.registry import load_flows
from storage.records import Participation
from storage.reports.synthesis import (
    GroupLabels,
    WorkshopInfo,
    build_synthesis,
    render_synthesis,
)
from storage.reports.synthesis_model import WorkshopSynthesis
from tests.test_workshop_helpers import ANSWERS, FACTORS, HOSTILE

CHROMIUM = Path("/usr/bin/chromium")
WORKSHOP_TEXTS = texts().scoped("workshop")
WORKSHOP_TEXTS = texts().scoped("workshop")
FORMULAS = ("=SOMME(A1:A9)", "+33 6 00", "-2+3", "@cmd", "\t=1", "%0A")


def participations() -> list[Participation]:
    people = []
    for i, p in enumerate(ANSWERS):
        answers: dict[str, Any] = {"categorie": p.category, "relation": p.relation,
                                   "attentes": p.expects, "obstacle": p.obstacle,
                                   "demandes": FORMULAS[i % len(FORMULAS)] if i < 6 else p.asks,
                                   "engagements": p.commits,
                                   "facteurs_ok": p.ratings is not None}
        if p.ratings:
            answers.update(dict(zip(FACTORS, p.ratings, strict=True)))
        people.append(Participation("completed", answers, {}))
    return people


def synthesis(title: str = f"Atelier {HOSTILE}") -> WorkshopSynthesis:
    flow = load_flows()["preatelier"]
    info = WorkshopInfo("K7Q-M3X-PW9", title, "open", datetime(2026, 3, 1, tzinfo=UTC))
    return build_synthesis(info, flow, participations(), GroupLabels.from_texts(WORKSHOP_TEXTS))


def test_html_escapes_everything_typed_and_embeds_its_charts():
    data = synthesis()
    drawn = charts(data, WORKSHOP_TEXTS)
    page = render_synthesis(data, "html", WORKSHOP_TEXTS, drawn).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("data:image/png;base64,") == 1  # factors; categories drawn in CSS
    assert "<link" not in page and "src=\"http" not in page  # self-contained
    assert 'name="viewport"' in page and "@media print" in page


def test_markdown_neutralises_markup_typed_by_people():
    page = render_synthesis(synthesis(), "md", WORKSHOP_TEXTS).content.decode()
    assert HOSTILE not in page
    assert r"\<script\>" in page and r"\*\*gras\*\*" in page and r"\[lien\]" in page
    assert r"\|" in page  # a typed pipe cannot break a table
    assert page.startswith("# Synthèse de l'atelier «\u00a0Atelier ")  # typeset, by design


def test_csv_cells_are_never_formulas():
    content = render_synthesis(synthesis(), "csv", WORKSHOP_TEXTS).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    cells = [c for row in rows for c in row]
    assert all(not c.startswith(("=", "+", "-", "@", "\t", "%")) for c in cells), [
        c for c in cells if c[:1] in "=+-@\t%"]
    assert "'=SOMME(A1:A9)" in cells and "'+33 6 00" in cells
    assert rows[0] == ["rubrique", "question", "catégorie", "réponse", "nombre", "part (%)"]


def test_json_keeps_raw_text_and_chat_escapes_markup():
    data = synthesis()
    parsed = json.loads(render_synthesis(data, "json", WORKSHOP_TEXTS).content)
    assert HOSTILE in parsed["obstacles"] and parsed["participants"] == 12
    bubbles = chat_messages(data)
    assert "**gras**" not in bubbles[0].text.replace("**Synthèse", "")


def test_flows_without_workshop_meta_still_summarise():
    """``facteurs`` in a workshop: its role question gives the category."""
    flow = load_flows()["facteurs"]
    people = [Participation("completed", {"role": "elu", "valeur": 4, "confiance": 1}, {}),
              Participation("in_progress", {"role": "agent"}, {}),
              Participation("in_progress", {}, {})]
    info = WorkshopInfo("AAA-BBB-CCC", "T", "open", datetime(2026, 3, 1, tzinfo=UTC))
    data = build_synthesis(info, flow, people, GroupLabels.from_texts(WORKSHOP_TEXTS))
    found = data.to_json()
    assert found["participants"] == 3
    assert found["by_category"] == {}  # one person per category: no breakdown
    assert found["factors"]["respondents"] == 1 and found["agora"] == []
    for fmt in ("md", "html", "csv"):
        assert render_synthesis(data, fmt, WORKSHOP_TEXTS).content


@pytest.mark.chromium
def test_the_html_synthesis_renders_on_a_phone(tmp_path: Path):
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium must be installed in CI (apt-get install -y chromium)")
        pytest.skip("Chromium absent: apt-get install -y chromium to render the synthesis")
    data = synthesis("Fresque de l'engagement local, Crest")
    page = tmp_path / "synthese.html"
    drawn = charts(data, WORKSHOP_TEXTS)
    page.write_bytes(render_synthesis(data, "html", WORKSHOP_TEXTS, drawn).content)
    png = tmp_path / "synthese.png"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={png}",
         "--window-size=412,2000", page.as_uri()],
        capture_output=True, timeout=120, check=False,
    )
    assert png.exists() and png.stat().st_size > 20_000
    from PIL import Image

    with Image.open(png) as image:
        assert image.size == (412, 2000)
        grey = image.convert("L")
        dark = sum(grey.histogram()[:200]) / (grey.width * grey.height)
        # Text on a white page, and nothing overflowing to the right on a phone.
        right_edge = grey.crop((404, 0, 412, 2000))
        edge_dark = sum(right_edge.histogram()[:200]) / (right_edge.width * right_edge.height)
    assert 0.02 < dark < 0.6, dark
    assert edge_dark < 0.02, edge_dark
    if os.environ.get("COOPBOT_KEEP_SCREENSHOT"):
        shutil.copy(png, os.environ["COOPBOT_KEEP_SCREENSHOT"])
