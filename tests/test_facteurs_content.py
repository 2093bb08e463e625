"""The factor self-check as a user meets it: the questions, the summary, its rendering.

Answer sets are written by hand so that every expected score can be checked on
paper. Ratings: 1 frein fort, 2 plutôt un frein, 3 plutôt un levier, 4 levier fort.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.markup import to_html
from flows.loader import load_flow
from flows.model import Flow
from flows.summaries import SummaryInput, summarise
from flows.typography import french
from storage.reports.render import render

FLOW_PATH = Path(__file__).resolve().parent.parent / "flows" / "definitions" / "facteurs.yaml"

FAMILIES: dict[str, list[str]] = {
    "individuels": ["valeur", "competences", "savoir_etre", "habitude"],
    "structurels": ["organisation_interne", "statuts", "gouvernance", "regles"],
    "relationnels": ["interconnaissance", "confiance", "posture", "jeux_de_pouvoir"],
    "sociaux": ["caracteristiques", "proximite_sociale", "motivations_sociales"],
    "contextuels": ["historique", "evenement", "identite"],
    "organisationnels": ["composition", "perimetre", "taille", "moyens_humains",
                         "moyens_financiers"],
}
FACTORS = [step for steps in FAMILIES.values() for step in steps]
HOSTILE = "<script>alert(1)</script> **gras** =cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def flow() -> Flow:
    return load_flow(FLOW_PATH)


def summary_of(flow: Flow, ratings: dict[str, Any], comments: dict[str, str] | None = None,
               **context: Any) -> dict[str, Any]:
    answers = {"role": "agent", **context, **ratings}
    return summarise(SummaryInput(flow, answers, comments or {}))


def family(summary: dict[str, Any], family_id: str) -> dict[str, Any]:
    return next(f for f in summary["families"] if f["id"] == family_id)


# --- The flow file ---------------------------------------------------------------------


def test_flow_loads_as_the_facteurs_command(flow: Flow) -> None:
    assert flow.id == "facteurs"
    assert flow.command == "facteurs"
    assert flow.summary == "facteurs"
    assert flow.description


def test_context_comes_first_then_every_factor_of_the_six_families(flow: Flow) -> None:
    ids = [s.id for s in flow.steps]
    assert ids[:2] == ["role", "projet"]
    assert ids[2:] == FACTORS
    for family_id, steps in FAMILIES.items():
        assert [s.id for s in flow.steps if s.meta.get("family") == family_id] == steps


def test_role_offers_the_seven_kinds_of_actors(flow: Flow) -> None:
    role = flow.step("role")
    assert role is not None and role.type == "choice" and not role.optional
    assert [o.value for o in role.options] == [
        "elu", "agent", "acteur_eco", "agent_etat", "citoyen", "entreprise", "autre"]
    projet = flow.step("projet")
    assert projet is not None and projet.type == "text" and projet.max_length <= 500


@pytest.mark.parametrize("step_id", FACTORS)
def test_every_factor_is_a_skippable_rated_question_with_help_and_advice(
    flow: Flow, step_id: str
) -> None:
    step = flow.step(step_id)
    assert step is not None
    assert step.type == "scale"
    assert [o.label for o in step.options] == [
        "Frein fort", "Plutôt un frein", "Plutôt un levier", "Levier fort"]
    assert step.comment, "a comment may follow the number"
    assert step.optional, "/passer must work when a person cannot judge a factor"
    assert len(step.help) >= 40
    assert len(step.meta.get("advice", "")) >= 40
    assert step.meta.get("factor")
    assert step.section.lower() == f"facteurs {step.meta['family']}"
    # A question about the user's own project, not a definition quiz.
    assert re.search(r"\b(votre|vos|vous)\b", step.ask)
    assert step.ask.rstrip().endswith("?")


def test_advice_names_the_tools_the_seed_recommends(flow: Flow) -> None:
    def advice(step_id: str) -> str:
        step = flow.step(step_id)
        assert step is not None
        return step.meta["advice"]

    assert "Fresque de l'engagement local" in advice("interconnaissance")
    assert "espaces de dialogue" in advice("interconnaissance")
    assert "tiers facilitateur" in advice("jeux_de_pouvoir")
    assert "entre pairs" in advice("posture") and "Agora" in advice("posture")
    assert "facilitateur" in advice("moyens_humains")
    assert "en faisant" in advice("habitude")


def test_intro_tells_length_commands_and_source_and_its_counts_are_true(flow: Flow) -> None:
    intro = flow.intro
    for command in ("/retour", "/passer", "/aide", "/annuler"):
        assert command in intro
    assert "Biovallée" in intro and "2024" in intro
    assert "10 minutes" in intro
    assert f"{len(flow.steps)} questions" in intro
    assert f"{len(FACTORS)} facteurs" in intro


# --- The summary -----------------------------------------------------------------------


def test_family_scores_overall_and_percent_on_a_full_answer_set(flow: Flow) -> None:
    ratings = dict.fromkeys(FACTORS, 3)
    ratings.update({"valeur": 1, "competences": 2, "savoir_etre": 2, "habitude": 4})
    ratings.update(dict.fromkeys(FAMILIES["relationnels"], 4))
    summary = summary_of(flow, ratings)

    individuels = family(summary, "individuels")
    assert individuels["score"] == 2.3  # (1 + 2 + 2 + 4) / 4 = 2,25, rounded half up
    assert individuels["percent"] == 42  # (2,25 - 1) / 3
    assert (individuels["answered"], individuels["total"]) == (4, 4)
    assert family(summary, "relationnels")["score"] == 4.0
    assert family(summary, "relationnels")["percent"] == 100
    assert family(summary, "structurels")["score"] == 3.0
    assert [f["id"] for f in summary["families"]] == list(FAMILIES)
    assert summary["families"][0]["label"] == "Facteurs individuels"
    # 23 factors: (1+2+2+4) + 4*4 + 15*3 = 70 → 70/23 = 3,04…; (3,04 - 1) / 3 = 68 %
    assert summary["overall"] == {"score": 3.0, "percent": 68, "answered": 23, "total": 23}


def test_weakest_three_are_the_lowest_ratings_ties_in_family_order(flow: Flow) -> None:
    ratings = dict.fromkeys(FACTORS, 3)
    # Same rating 2 in three families: the first families in the flow win the tie.
    ratings.update({"moyens_financiers": 2, "confiance": 2, "statuts": 2, "historique": 1})
    summary = summary_of(flow, ratings)
    weakest = summary["weakest"]
    assert [w["step"] for w in weakest] == ["historique", "statuts", "confiance"]
    first = weakest[0]
    assert first["factor"] == "Historique"
    assert first["rating"] == 1 and first["rating_label"] == "Frein fort"
    assert first["family_label"] == "Facteurs contextuels"
    assert first["advice"] == flow.step("historique").meta["advice"]  # type: ignore[union-attr]
    assert summary["has_brakes"] is True


def test_strengths_list_strong_levers_first_and_never_repeat_a_weak_point(flow: Flow) -> None:
    ratings = dict.fromkeys(FACTORS, 2)
    ratings.update({"taille": 4, "valeur": 3, "confiance": 4, "identite": 3})
    summary = summary_of(flow, ratings)
    assert [s["step"] for s in summary["strengths"]] == [
        "confiance", "taille", "valeur", "identite"]
    weak = {w["step"] for w in summary["weakest"]}
    assert not weak & {s["step"] for s in summary["strengths"]}


def test_when_everything_is_a_lever_the_summary_says_there_is_no_brake(flow: Flow) -> None:
    summary = summary_of(flow, dict.fromkeys(FACTORS, 4))
    assert summary["has_brakes"] is False
    assert len(summary["weakest"]) == 3
    assert len(summary["strengths"]) == len(FACTORS) - 3
    chat = render("chat/facteurs.j2", flow=flow, summary=summary, answers=[])
    assert "aucun frein" in chat


def test_skipped_factors_are_left_out_of_scores_and_listed(flow: Flow) -> None:
    ratings = dict.fromkeys(FACTORS, 4)
    ratings.update({"valeur": 1})
    for skipped in ("competences", "savoir_etre", "habitude"):
        del ratings[skipped]
    summary = summary_of(flow, ratings)
    individuels = family(summary, "individuels")
    assert individuels["score"] == 1.0  # only « valeur » counts, not zeros for the others
    assert (individuels["answered"], individuels["total"]) == (1, 4)
    assert summary["overall"]["answered"] == 20
    assert summary["skipped"] == ["Compétences", "Savoir-être", "Habitude de coopérer"]
    assert summary["weakest"][0]["step"] == "valeur"


def test_a_family_with_every_factor_skipped_has_no_score(flow: Flow) -> None:
    ratings = {k: 3 for k in FACTORS if k not in FAMILIES["sociaux"]}
    summary = summary_of(flow, ratings)
    sociaux = family(summary, "sociaux")
    assert sociaux["score"] is None and sociaux["percent"] is None
    assert sociaux["answered"] == 0 and sociaux["total"] == 3
    assert summary["overall"]["score"] == 3.0


def test_all_factors_skipped_gives_an_empty_but_valid_summary(flow: Flow) -> None:
    summary = summary_of(flow, {})
    assert all(f["score"] is None for f in summary["families"])
    assert summary["overall"] == {"score": None, "percent": None, "answered": 0, "total": 23}
    assert summary["weakest"] == [] and summary["strengths"] == []
    assert len(summary["skipped"]) == 23
    chat = render("chat/facteurs.j2", flow=flow, summary=summary, answers=[])
    assert "aucun facteur" in chat and "/facteurs" in chat
    session = {"id": 1, "flow": "facteurs", "status": "completed", "answers": [],
               "summary": summary}
    assert "aucun facteur noté" in render("export/facteurs.md.j2", session=session, flow=flow)
    html = render("export/facteurs.html.j2", session=session, flow=flow, chart_png_b64=None)
    assert "aucun facteur noté" in html and "<img" not in html


def test_values_that_are_not_ratings_are_ignored(flow: Flow) -> None:
    ratings: dict[str, Any] = dict.fromkeys(FACTORS, 3)
    ratings.update({"valeur": True, "competences": 0, "savoir_etre": 9, "habitude": "4"})
    summary = summary_of(flow, ratings)
    assert family(summary, "individuels")["answered"] == 0


def test_role_project_and_comments_are_restituted(flow: Flow) -> None:
    comments = {"posture": "  chacun\n reste  sur ses positions ", "role": ""}
    summary = summary_of(flow, dict.fromkeys(FACTORS, 2), comments, role="elu",
                         projet="Une recyclerie\ncommunautaire")
    assert summary["role"] == {"value": "elu", "label": "Élu ou élue"}
    assert summary["project"] == "Une recyclerie communautaire"
    assert summary["comments"] == [
        {"step": "posture", "factor": "Posture", "comment": "chacun reste sur ses positions"}]


def test_summary_is_deterministic_and_json_serialisable(flow: Flow) -> None:
    ratings = {k: (i % 4) + 1 for i, k in enumerate(FACTORS)}
    first = summary_of(flow, ratings, {"taille": "trop grand"}, projet="P")
    second = summary_of(flow, dict(reversed(list(ratings.items()))), {"taille": "trop grand"},
                        projet="P")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


# --- Rendering -------------------------------------------------------------------------


@pytest.fixture()
def hostile_summary(flow: Flow) -> dict[str, Any]:
    ratings = dict.fromkeys(FACTORS, 3)
    ratings.update({"interconnaissance": 1, "jeux_de_pouvoir": 1, "taille": 4})
    comments = {"interconnaissance": HOSTILE + "\n---\n**encore**"}
    return summary_of(flow, ratings, comments, projet=HOSTILE)


def test_chat_summary_is_short_bubbles_with_advice_and_user_text_neutralised(
    flow: Flow, hostile_summary: dict[str, Any]
) -> None:
    text = render("chat/facteurs.j2", flow=flow, summary=hostile_summary, answers=[])
    bubbles = re.split(r"(?m)^---$", text)
    # overall / families / weakest / strengths / how to keep it and the source
    assert len(bubbles) == 5, "a line break in a comment must not open a new bubble"
    assert all(len(b) < 1800 for b in bubbles)
    assert "**Interconnaissance**" in text
    assert "Fresque de l'engagement local" in text
    assert "Biovallée" in text and "ADEME" in text
    for family_label in ("Facteurs individuels", "Facteurs organisationnels"):
        assert family_label in bubbles[1]
    html = to_html(text)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>gras</b>" not in html and "<b>encore</b>" not in html
    assert "<b>Interconnaissance</b>" in html


def test_markdown_export_escapes_user_text(
    flow: Flow, hostile_summary: dict[str, Any]
) -> None:
    session = {"id": 7, "flow": "facteurs", "status": "completed", "answers": [],
               "summary": hostile_summary}
    md = render("export/facteurs.md.j2", session=session, flow=flow)
    assert "<script>" not in md and r"\<script\>" in md
    assert "**gras**" not in md and r"\*\*gras\*\*" in md
    assert "=cmd|" not in md and r"=cmd\|" in md
    assert "\n---" not in md
    # (1 + 3 + 3 + 1) / 4 = 2,0, stated on its 1-to-4 scale without a percentage
    assert "| Facteurs relationnels | 2,0 | 4 sur 4 |" in md
    assert "Score (de 1 à 4)" in md and "%" not in md
    assert french("Piste :") in md and "Biovallée" in md and "ADEME" in md


def test_html_export_escapes_user_text_and_embeds_the_chart(
    flow: Flow, hostile_summary: dict[str, Any]
) -> None:
    session = {"id": 7, "flow": "facteurs", "status": "completed", "answers": [],
               "summary": hostile_summary}
    html = render("export/facteurs.html.j2", session=session, flow=flow,
                  chart_png_b64="iVBORw0KGgo=")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<img src="data:image/png;base64,iVBORw0KGgo="' in html
    assert "alt=" in html
    assert "Biovallée" in html and "ADEME" in html
    without = render("export/facteurs.html.j2", session=session, flow=flow, chart_png_b64=None)
    assert "<img" not in without and "Facteurs relationnels" in without


def test_export_fragments_render_nothing_for_a_session_without_summary(flow: Flow) -> None:
    session = {"id": 1, "flow": "facteurs", "status": "in_progress", "answers": [],
               "summary": {}}
    assert render("export/facteurs.md.j2", session=session, flow=flow).strip() == ""
    html = render("export/facteurs.html.j2", session=session, flow=flow, chart_png_b64=None)
    assert html.strip() == ""


def test_overall_score_is_stated_on_its_scale_without_a_misleading_percentage(
    flow: Flow,
) -> None:
    ratings = dict.fromkeys(FACTORS, 3)
    ratings.update(dict.fromkeys(list(FACTORS)[:12], 2))  # a mean between 2 and 3
    summary = summary_of(flow, ratings)
    chat = render("chat/facteurs.j2", flow=flow, summary=summary, answers=[])
    score = f"{summary['overall']['score']:.1f}".replace(".", ",")
    scale = "sur une échelle de 1 (frein fort) à 4 (levier fort)"
    assert f"Note d'ensemble : **{score}**, {scale}" in chat
    assert "%" not in chat and f"{score} sur 4" not in chat
    session = {"id": 7, "flow": "facteurs", "status": "completed", "answers": [],
               "summary": summary}
    html = render("export/facteurs.html.j2", session=session, flow=flow, chart_png_b64=None)
    assert "sur une échelle de 1 (frein fort) à 4 (levier fort)" in html
    assert not re.search(r"\d(\s|&nbsp;|\u00a0)?%", html.replace("width:100%", ""))


def test_more_than_three_strong_brakes_are_all_reported(flow: Flow) -> None:
    ratings = dict.fromkeys(FACTORS, 3)
    brakes = ["valeur", "statuts", "interconnaissance", "jeux_de_pouvoir", "historique"]
    ratings.update(dict.fromkeys(brakes, 1))
    summary = summary_of(flow, ratings)
    reported = [w["step"] for w in summary["weakest"]] + [w["step"] for w in
                                                          summary["other_brakes"]]
    assert sorted(reported) == sorted(brakes)
    assert len(summary["weakest"]) == 3 and len(summary["other_brakes"]) == 2
    assert all(w["advice"] for w in summary["other_brakes"])
    chat = render("chat/facteurs.j2", flow=flow, summary=summary, answers=[])
    for step in brakes:
        factor = flow.step(step).meta["factor"]  # type: ignore[union-attr]
        assert factor in chat or factor[0].lower() + factor[1:] in chat, factor
    assert "Autres freins forts : " in chat and " et " in chat
    session = {"id": 7, "flow": "facteurs", "status": "completed", "answers": [],
               "summary": summary}
    md = render("export/facteurs.md.j2", session=session, flow=flow)
    assert "#### Autres freins forts" in md
    for w in summary["other_brakes"]:
        assert french(w["advice"]) in md  # typeset, by design
    assert summary_of(flow, dict.fromkeys(FACTORS, 3))["other_brakes"] == []
