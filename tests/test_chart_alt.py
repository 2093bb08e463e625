"""Every chart has a text alternative: what it shows and every figure it draws.

A person who cannot see the picture (screen reader, image blocked, poor connection)
must get the same information (RGAA, WCAG 1.1.1). In chat, the picture's ``alt`` goes
in Telegram's photo caption and in Matrix's ``m.image`` ``body``; in the HTML documents
each ``<img>`` has an alt saying what it shows, with the figures as text next to it.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from bot.channels import console
from bot.markup import to_plain
from bot.messages import Attachment, Outgoing
from bot.testing import ConsoleUser, memory_assistant
from bot.texts import texts
from bot.workshop_routes import chart_messages, charts
from flows.typography import french
from tests.test_accessibility import documents
from tests.test_workshop_render import WORKSHOP_TEXTS, synthesis


def num(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


async def completed(command: str) -> tuple[Attachment, ConsoleUser]:
    """Answer every question of a flow in the console until its chart arrives."""
    user = ConsoleUser(memory_assistant(), "alice")
    replies: list[Outgoing] = await user.say(command)
    for _ in range(80):
        if to_plain(texts()("flow.recap.title")) in user.plain():
            await user.say("valider")  # the recap after the last question: the summary
            images = [r.image for r in await user.later() if r.image is not None]
            assert images, f"no chart followed the summary of {command}"
            return images[0], user
        replies = await user.say("2" if replies[-1].choices else "Un projet < & >")
    raise AssertionError(f"no chart after {command}: {user.plain()[-400:]}")


async def test_the_charte_chart_in_chat_reads_out_each_article_score() -> None:
    image, _ = await completed("/charte")
    assert image.mime_type == "image/png" and image.caption
    assert image.alt.startswith("Graphique en barres « Votre démarche et la Charte")
    assert "de 0 à 100 %" in image.alt
    for n in (1, 2, 3, 4):
        assert f"rticle {n}, " in image.alt
    assert image.alt.count(" %") >= 5 and image.alt.endswith(".")


async def test_the_factor_chart_in_chat_reads_out_each_family_score(tmp_path: Path) -> None:
    image, _ = await completed("/facteurs")
    shown = console.render(Outgoing(image=image), tmp_path).splitlines()
    # The console typesets what it shows (no-break spaces before « : ; »).
    assert shown[0] == french(image.alt) and shown[1].startswith("📎 Fichier enregistré\u00a0:")
    assert image.alt.startswith("Graphique en barres « Vos facteurs de coopération")
    assert "de 1 (frein fort) à 4 (levier fort)" in image.alt
    for family in ("individuels", "structurels", "relationnels", "sociaux", "contextuels",
                   "organisationnels"):
        assert f"Facteurs {family} : " in image.alt
    assert "\n" not in image.alt and "  " not in image.alt


def test_workshop_charts_in_chat_read_out_their_counts_and_means() -> None:
    data = synthesis()
    drawn = charts(data, WORKSHOP_TEXTS)
    images = [m.image for m in chart_messages(data, drawn)]
    assert [i.filename.rsplit("-", 1)[-1] for i in images if i] == [
        "categories.png", "factors.png"]
    people, factors = (i.alt for i in images if i)
    assert people.startswith("Graphique en barres « Participants par catégorie d'acteurs »")
    for c in data.categories:
        assert f"{c.label} : {c.count}" in people
    assert factors.startswith("Graphique en barres « Facteurs de coopération")
    assert data.factors is not None
    for f in data.factors.families:
        assert f"{f.label} : {num(f.score)}" in factors


class Images(HTMLParser):
    """The ``alt`` of every ``<img>`` and the page's text outside them."""

    def __init__(self) -> None:
        super().__init__()
        self.alts: list[str | None] = []
        self.text: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.alts.append(dict(attrs).get("alt"))
        if tag in ("style", "title"):
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.text.append(data)


def parsed(html: str) -> Images:
    parser = Images()
    parser.feed(html)
    return parser


CHARTS_IN = {"export charte": 1, "export facteurs": 1, "export de tous les parcours": 2,
             "synthèse d'atelier": 1, "synthèse d'un atelier /facteurs": 1}


def test_every_chart_in_html_says_what_it_shows_and_its_figures_are_text() -> None:
    for name, html in documents().items():
        page = parsed(html)
        assert all(alt and len(alt.strip()) > 20 for alt in page.alts), (name, page.alts)
        # A chart's alt says what it shows and where its figures are, as text.
        charts = [a for a in page.alts if a and "tableau" in a and len(a) > 60]
        assert len(charts) == CHARTS_IN.get(name, 0), (name, page.alts)
        if name == "export charte":
            text = " ".join(" ".join(page.text).split())
            for score in ("40 %", "50 %"):
                assert score in text                             # the chart's figures, as text


def test_the_workshop_html_gives_the_chart_figures_as_text() -> None:
    data = synthesis()
    page = parsed(pages_synthesis(data))
    text = " ".join(" ".join(page.text).split())
    assert data.factors is not None
    for f in data.factors.families:
        assert num(f.score) in text and f.label in text
    [alt] = page.alts
    assert alt and "colonne « Ensemble »" in alt


def pages_synthesis(data: dict[str, Any]) -> str:
    from storage.reports.synthesis import render_synthesis

    drawn = charts(data, WORKSHOP_TEXTS)
    return render_synthesis(data, "html", WORKSHOP_TEXTS, drawn).content.decode()
