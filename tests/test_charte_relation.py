"""The Charte self-check (/charte) and the relation diagnostic (/relation).

Scores are checked on hand-computed answer sets: Oui = 1, En partie = 0.5, Non = 0,
« Je ne sais pas » left out of the score.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.markup import to_html
from flows import engine
from flows.engine import Question
from flows.loader import load_flow
from flows.model import Flow
from flows.summaries import SummaryInput, summarise
from flows.views import views_from_state
from knowledge.base import load_knowledge
from storage.reports.charts import render_chart
from storage.reports.render import render

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "flows" / "definitions"
HOSTILE = "<script>alert(1)</script> **gras** [lien](http://x)"
OUI, PARTIEL, NON, NSP = 1, 2, 3, 4


@pytest.fixture(scope="module")
def charte() -> Flow:
    return load_flow(DEFINITIONS / "charte.yaml")


@pytest.fixture(scope="module")
def relation() -> Flow:
    return load_flow(DEFINITIONS / "relation.yaml")


def asked(flow: Flow, answers: dict[str, Any]) -> list[str]:
    return [s.id for s in flow.steps if s.visible(answers)]


def summary_of(flow: Flow, answers: dict[str, Any], comments: dict[str, str] | None = None
               ) -> dict[str, Any]:
    return summarise(SummaryInput(flow, answers, comments or {}))


def article_steps(flow: Flow, number: int) -> list[str]:
    return [s.id for s in flow.steps if s.meta.get("article") == number]


def all_answers(flow: Flow, value: int) -> dict[str, Any]:
    return {s.id: value for s in flow.steps if s.meta.get("article")}


# ------------------------------------------------------------------ Charte: the flow


def test_charte_asks_a_few_questions_per_article_on_one_scale(charte: Flow) -> None:
    assert charte.command == "charte" and charte.summary == "charte"
    assert len(charte.steps) == 19
    for number in (1, 2, 3, 4):
        steps = [charte.step(i) for i in article_steps(charte, number)]
        assert len(steps) >= 3
        for step in steps:
            assert step is not None and step.type == "scale" and step.comment
            assert [o.label for o in step.options] == ["Oui", "En partie", "Non",
                                                       "Je ne sais pas"]
            assert step.meta.get("suggestion") and step.ask.endswith("?")


def test_article_4_questions_cite_the_ministry_text_without_internal_doubt(
    charte: Flow,
) -> None:
    """Article 4 comes from the ministry's published text (its title and presentation);
    the former « n'a pas pu être vérifié » no longer reaches anyone."""
    for step_id in article_steps(charte, 4):
        step = charte.step(step_id)
        assert step is not None and "article 4" in step.help
        assert "n'a pas pu être vérifié" not in step.help
    titles = " ".join(charte.step(i).help for i in article_steps(charte, 4))  # type: ignore
    assert "encourage le pouvoir d'initiative du citoyen" in titles
    for name in ("chat/charte.j2", "export/charte.md.j2", "export/charte.html.j2"):
        source = (ROOT / "storage" / "reports" / "templates" / name).read_text(encoding="utf-8")
        assert "n'a pas pu être vérifié" not in source, name


def test_charte_intro_announces_the_number_of_questions_the_counter_shows(
    charte: Flow,
) -> None:
    asked_steps = [s for s in charte.steps if s.visible({})]
    assert f"{len(asked_steps)} questions" in charte.intro
    articles = sum(1 for s in charte.steps if s.meta.get("article"))
    assert f"{articles} questions sur les quatre articles" in charte.intro
    # the example of a comment fits the 1-to-4 scale the intro describes
    assert "1 (Oui), 2 (En partie), 3 (Non) ou 4 (Je ne sais pas)" in charte.intro
    assert "par exemple « 2 " in charte.intro


def test_charte_is_driven_by_numbers_and_comments(charte: Flow) -> None:
    transition = engine.start(charte)
    state = engine.skip(charte, transition.state).state          # projet is optional
    transition = engine.answer(charte, state, "2 seulement pour les élus")
    assert transition.state.answers["a1_porteur"] == PARTIEL
    assert transition.state.comments["a1_porteur"] == "seulement pour les élus"
    refused = engine.answer(charte, transition.state, "peut-être")
    assert not refused.changed
    again = refused.outputs[-1]
    assert isinstance(again, Question) and again.step.id == "a1_objet"


# ------------------------------------------------------------------ Charte: the scores


def test_scores_per_article_are_computed_on_assessed_answers(charte: Flow) -> None:
    answers = all_answers(charte, OUI)
    answers.update({"a1_objet": PARTIEL, "a1_scenarios": NON, "a1_garant": NON})  # 4/7 oui
    answers.update({"a2_culture": NSP})                                           # 3 assessed
    answers.update({name: NON for name in article_steps(charte, 3)})
    answers["a3_egalite"] = PARTIEL
    summary = summary_of(charte, answers)
    scores = {a["number"]: a["score"] for a in summary["articles"]}
    assert scores == {1: round(100 * 4.5 / 7), 2: 100, 3: round(100 * 0.5 / 4), 4: 100}
    article2 = summary["articles"][1]
    assert (article2["assessed"], article2["unknown"], article2["questions"]) == (3, 1, 4)
    assert summary["weakest"] == {"number": 3, "title": "La mobilisation de tous",
                                  "score": 12}
    assert [s["label"] for s in summary["suggestions"]] == [
        "Publics concernés invités", "Diversité des publics", "Aller au-delà des habitués",
        "Égalité d'accès à l'information et à la parole"]
    assert summary["unknown"] == 1


def test_all_yes_has_no_weakest_article(charte: Flow) -> None:
    summary = summary_of(charte, all_answers(charte, OUI))
    assert summary["overall"] == 100 and summary["weakest"] is None
    assert summary["suggestions"] == []


def test_only_dont_know_gives_no_score_and_no_chart(charte: Flow) -> None:
    summary = summary_of(charte, all_answers(charte, NSP))
    assert summary["overall"] is None
    assert all(a["score"] is None for a in summary["articles"])
    assert render_chart("charte", summary) is None
    text = render("chat/charte.j2", flow=charte, summary=summary, answers=[])
    assert "/charte" in text


def test_chart_is_a_png_with_the_four_articles(charte: Flow) -> None:
    answers = all_answers(charte, PARTIEL)
    answers.update({name: NSP for name in article_steps(charte, 2)})
    png = render_chart("charte", summary_of(charte, answers))
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_chart_module_does_not_import_matplotlib_at_import_time() -> None:
    code = ("import sys, storage.reports.charts.charte, flows.summaries; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"


def test_charte_templates_escape_what_the_user_typed(charte: Flow) -> None:
    answers = all_answers(charte, PARTIEL)
    answers["projet"] = HOSTILE
    comments = {"a1_objet": HOSTILE}
    summary = summary_of(charte, answers, comments)
    chat = render("chat/charte.j2", flow=charte, summary=summary,
                  answers=views_from_state(charte, answers, comments))
    assert "**gras**" not in chat and "<script>" not in to_html(chat)
    assert len(re.split(r"^---$", chat, flags=re.M)) == 3
    session = {"id": 1, "flow": "charte", "status": "completed",
               "updated_at": "2026-11-22T10:00:00+00:00",
               "answers": views_from_state(charte, answers, comments), "summary": summary}
    md = render("export/charte.md.j2", session=session, flow=charte)
    assert "\\<script\\>" in md and "<script>" not in md
    assert "22 novembre 2026" in md and "| 1. Un cadre clair et partagé | 50 % |" in md
    assert "encourage le pouvoir d'initiative du citoyen" in md  # article 4, ministry text
    assert "n'a pas pu être vérifié" not in md
    html = render("export/charte.html.j2", session=session, flow=charte,
                  chart_png_b64="iVBORw0KGgo=")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<img src="data:image/png;base64,iVBORw0KGgo="' in html
    assert "<img" not in render("export/charte.html.j2", session=session, flow=charte,
                                chart_png_b64=None)


# ------------------------------------------------------------------ relation: the flow

BASE_RELATION: dict[str, Any] = {
    "role": "collectivite", "position": "partenariat", "echanges": "reguliers",
    "desaccords": "travailles", "contraintes": "oui", "confiance": "oui", "souhait": "oui",
    "freins": ["aucun"],
}


def test_relation_steps_follow_the_role_and_the_position(relation: Flow) -> None:
    assert relation.command == "relation" and len(relation.steps) == 15
    assert "partenaire_ess" in asked(relation, BASE_RELATION)
    assert "partenaire_coll" in asked(relation, {**BASE_RELATION, "role": "ess"})
    assert "partenaires" in asked(relation, {**BASE_RELATION, "role": "tiers"})
    for position, consulted, close in [("distante", True, False), ("prestation", True, False),
                                       ("quasi_delegation", False, True),
                                       ("partenariat", False, True),
                                       ("cooperation", False, True)]:
        steps = asked(relation, {**BASE_RELATION, "position": position})
        assert ("consultation" in steps) == consulted, position
        assert ("desaccords" in steps) == close and ("contraintes" in steps) == close
        assert ("souhait" in steps) == (position != "cooperation")
    assert "frein_detail" not in asked(relation, BASE_RELATION)
    assert "frein_detail" in asked(relation, {**BASE_RELATION, "freins": ["tiers"]})


def test_relation_options_cover_the_five_types_and_five_obstacles(relation: Flow) -> None:
    position = relation.step("position")
    freins = relation.step("freins")
    assert position is not None and freins is not None
    assert [o.value for o in position.options] == [
        "distante", "prestation", "quasi_delegation", "partenariat", "cooperation"]
    assert {"regles", "interconnaissance", "postures", "pouvoir", "tiers"} <= {
        o.value for o in freins.options}
    assert set(relation.meta["obstacles"]) == {"regles", "interconnaissance", "postures",
                                               "pouvoir", "tiers"}


# ------------------------------------------------------------------ relation: the summary


def test_position_next_step_and_obstacles(relation: Flow) -> None:
    answers = {**BASE_RELATION, "position": "prestation", "consultation": "jamais",
               "freins": ["regles", "postures"]}
    for key in ("desaccords", "contraintes"):
        answers.pop(key)
    summary = summary_of(relation, answers)
    assert summary["position"]["label"] == "Prestation" and summary["position"]["rank"] == 2
    assert summary["next"]["label"] == "Quasi-délégation"
    assert "autonomie" in summary["next"]["takes"]
    assert [o["id"] for o in summary["obstacles_selected"]] == ["regles", "postures"]
    # Watched obstacles for this step, without repeating the selected ones.
    assert all(o["id"] not in ("regles", "postures") for o in summary["obstacles_watch"])
    assert any("en amont" in n for n in summary["nuances"])
    everything = (summary["obstacles_selected"] + summary["obstacles_watch"]
                  + summary["obstacles_other"])
    assert sorted(o["id"] for o in everything) == sorted(relation.meta["obstacles"])
    for o in everything:
        assert o["title"] and o["explanation"] and o["lever"]


def test_cooperation_is_the_top_and_avoided_disagreements_are_questioned(
    relation: Flow
) -> None:
    answers = {**BASE_RELATION, "position": "cooperation", "desaccords": "evites"}
    answers.pop("souhait")
    summary = summary_of(relation, answers)
    assert summary["top"] is True and summary["next"] is None and summary["keep"]
    assert any("partenariat" in n for n in summary["nuances"])
    assert summary["obstacles_selected"] == []


def test_partnership_with_rare_exchanges_gets_a_nuance(relation: Flow) -> None:
    summary = summary_of(relation, {**BASE_RELATION, "echanges": "rares"})
    assert any("rarement" in n for n in summary["nuances"])
    assert summary_of(relation, BASE_RELATION)["nuances"] == []


def test_relation_templates_escape_and_name_the_source(relation: Flow) -> None:
    answers = {**BASE_RELATION, "sujet": HOSTILE, "freins": ["tiers"], "frein_detail": HOSTILE}
    summary = summary_of(relation, answers)
    chat = render("chat/relation.j2", flow=relation, summary=summary,
                  answers=views_from_state(relation, answers, {}))
    assert "**gras**" not in chat and "<script>" not in to_html(chat)
    assert "Étape suivante : Coopération" in chat and "Biovallée" in chat
    session = {"id": 1, "flow": "relation", "status": "completed",
               "updated_at": "2026-11-22T10:00:00+00:00",
               "answers": views_from_state(relation, answers, {}), "summary": summary}
    md = render("export/relation.md.j2", session=session, flow=relation)
    assert "\\<script\\>" in md and "<script>" not in md and "22 novembre 2026" in md
    html = render("export/relation.html.j2", session=session, flow=relation,
                  chart_png_b64=None)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Partenariat (vous)" in html and "Biovallée" in html


def test_a_mission_entrusted_by_the_collectivite_gets_its_legal_frame(
    relation: Flow,
) -> None:
    answers = {**BASE_RELATION, "position": "prestation", "consultation": "parfois"}
    for key in ("desaccords", "contraintes"):
        answers.pop(key)
    summary = summary_of(relation, answers)
    legal = summary["legal"]
    assert legal is not None
    for words in ("marché public", "délégation de service public", "mise en concurrence",
                  "service d'intérêt économique général (SIEG)", "art. 9-1",
                  "projet conçu et porté par l'acteur de l'ESS"):
        assert words in legal["text"], words
    ids = [e["id"] for e in legal["entries"]]
    assert ids[:3] == ["dispositif/subvention", "dispositif/marche-public", "dispositif/dsp"]
    kb = load_knowledge()
    assert all(kb.get(i) is not None for i in ids)
    assert legal["asks"] == ("« subvention », « marché public », « délégation de service "
                             "public » ou « SIEG »")
    chat = render("chat/relation.j2", flow=relation, summary=summary, answers=[])
    assert "**Le cadre juridique quand la collectivité confie une mission**" in chat
    assert "demandez-moi : « subvention »" in chat
    session = {"id": 1, "flow": "relation", "status": "completed", "updated_at": None,
               "answers": [], "summary": summary}
    md = render("export/relation.md.j2", session=session, flow=relation)
    assert "#### Le cadre juridique quand la collectivité confie une mission" in md
    assert "Loi n° 2000-321 du 12 avril 2000, art. 9-1" in md
    html = render("export/relation.html.j2", session=session, flow=relation,
                  chart_png_b64=None)
    assert "<h4>Le cadre juridique quand la collectivité confie une mission</h4>" in html
    assert "Loi n° 2000-321 du 12 avril 2000, art. 9-1" in html
    quasi = summary_of(relation, {**BASE_RELATION, "position": "quasi_delegation"})
    assert quasi["legal"] is not None
    assert summary_of(relation, BASE_RELATION)["legal"] is None  # partenariat


def test_not_now_changes_the_wording_of_the_next_step(relation: Flow) -> None:
    summary = summary_of(relation, {**BASE_RELATION, "souhait": "pas_maintenant"})
    chat = render("chat/relation.j2", flow=relation, summary=summary, answers=[])
    assert "Si un jour vous souhaitez aller plus loin : Coopération" in chat


# ------------------------------------------------------------------ in the console


async def test_console_user_completes_the_charte_and_gets_scores_and_chart(alice: Any) -> None:
    await alice.say("/charte")
    await alice.say("/passer")                                   # projet
    for _ in range(18):
        await alice.say("2")
    assert "Récapitulatif" in alice.text()  # the recap first (issue 14)
    await alice.say("valider")
    text = alice.text()
    assert "Article 1, un cadre clair et partagé : **50 %**" in text
    assert not any(r.image for r in alice.last)  # the chart follows the reply
    images = [r.image for r in await alice.later() if r.image is not None]
    assert images and images[0].content.startswith(b"\x89PNG")


async def test_console_relation_reasks_the_options_after_free_text(alice: Any) -> None:
    await alice.say("/relation")
    for text in ("1", "/passer", "/passer", "/passer", "4", "3"):   # … position, échanges
        await alice.say(text)
    replies = await alice.say("je ne sais pas trop")
    assert [c.label for c in replies[-1].choices] == [
        "On évite le sujet pour préserver l'entente",
        "On met le désaccord sur la table et on cherche ensemble",
        "L'un des deux tranche seul", "Ce n'est pas encore arrivé"]
    for text in ("1", "1", "1", "1", "6",     # désaccords, contraintes, confiance, souhait, freins
                 "valider"):                  # the recap (issue 14)
        await alice.say(text)
    summary = alice.text()
    assert "**Votre relation : Partenariat**" in summary
    assert "Étape suivante : Coopération" in summary
