"""The framing flow (/cadrage) as a user meets it: questions, conditional steps, gaps, note.

Answer sets are written by hand: a complete framing that must raise no gap, and
variations of it that each remove one thing a facilitator would miss.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.markup import to_html
from flows import engine
from flows.engine import Notice, Question
from flows.loader import load_flow
from flows.model import Flow
from flows.summaries import SummaryInput, summarise
from flows.summaries.cadrage import LEVELS, gap_rules
from flows.typography import french
from flows.views import views_from_state
from storage.reports.render import render

ROOT = Path(__file__).resolve().parent.parent
FLOW_PATH = ROOT / "flows" / "definitions" / "cadrage.yaml"
HOSTILE = "<script>alert(1)</script> **gras** [lien](http://x) # titre"

COMPLETE: dict[str, Any] = {
    "projet": "Réaménager la place du marché",
    "contexte": "Demande d'habitants et plan de mandat",
    "cadre": "volontaire",
    "porteur": "Commune de Belair, service urbanisme, Mme Martin",
    "decideur": "Le conseil municipal",
    "gouvernance": "Comité de pilotage avec le centre social et l'association des commerçants",
    "attentes": ["connaissance", "qualite"],
    "attentes_detail": "Un programme d'aménagement partagé",
    "niveau": "concertation",
    "role_decision": "Les propositions retenues par les ateliers iront au conseil",
    "objet_debat": "Les usages de la place et son aménagement",
    "marges": "Mobilier, végétalisation, horaires du marché",
    "non_negociable": "Le budget de 400 000 euros et le maintien du marché",
    "scenarios": True,
    "scenarios_detail": "Place piétonne ; place partagée",
    "publics": ["citoyens", "eloignes", "acteurs_eco"],
    "aller_vers": "Stands sur le marché, relais du centre social",
    "formats": ["ateliers", "terrain"],
    "calendrier": "Ateliers de janvier à mars, décision en juin",
    "continuite": True,
    "moyens_humains": "dedie",
    "moyens_financiers": "dedie",
    "budget_detail": "15 000 euros pour l'animation",
    "facilitateur": "oui",
    "garant": "oui",
    "information": ["site", "journal", "affichage"],
    "information_detail": "Dossier de présentation en langage simple",
    "prise_en_compte": "Synthèse validée par les participants puis présentée aux élus",
    "retour": "les_deux",
    "retour_detail": "Bilan publié en juillet",
    "evaluation": "Diversité des participants ; part des propositions reprises",
    "suivi": ["nombre", "profil"],
}


@pytest.fixture(scope="module")
def flow() -> Flow:
    return load_flow(FLOW_PATH)


def asked(flow: Flow, answers: dict[str, Any]) -> list[str]:
    """Steps a user with these answers is asked, in order (``when`` reads earlier steps only)."""
    return [s.id for s in flow.steps if s.visible(answers)]


def with_(**changes: Any) -> dict[str, Any]:
    """The complete framing with some answers changed; ``None`` removes an answer (skipped)."""
    answers = {**COMPLETE, **changes}
    return {k: v for k, v in answers.items() if v is not None}


def gap_ids(flow: Flow, answers: dict[str, Any]) -> list[str]:
    return [g for g, _ in gap_rules(flow, answers)]


def summary_of(flow: Flow, answers: dict[str, Any], comments: dict[str, str] | None = None
               ) -> dict[str, Any]:
    return summarise(SummaryInput(flow, answers, comments or {}))


# ------------------------------------------------------------------ the flow file


def test_flow_has_the_ten_framing_sections_in_order(flow: Flow) -> None:
    sections: list[str] = []
    for step in flow.steps:
        if step.section not in sections:
            sections.append(step.section)
    assert sections == [
        "Le projet et son contexte",
        "Porteur et gouvernance",
        "Attentes et niveau de participation",
        "Ce qui est ouvert au débat",
        "Acteurs et publics",
        "Formats et calendrier",
        "Moyens",
        "Information du public",
        "Prise en compte et retour aux participants",
        "Évaluation",
    ]
    assert flow.command == "cadrage" and flow.summary == "cadrage"
    assert len(flow.steps) == 33


def test_every_question_has_help_and_a_short_label(flow: Flow) -> None:
    for step in flow.steps:
        assert step.help.strip(), step.id
        assert step.meta.get("label"), step.id
        assert step.ask.rstrip().endswith("?"), step.id  # Voice: the question comes last


def test_option_labels_are_not_cut_by_yaml_commas() -> None:
    """In a YAML flow mapping an unquoted comma ends the label; the rest became a stray key."""
    for name in ("cadrage", "charte", "relation"):
        raw = yaml.safe_load((FLOW_PATH.parent / f"{name}.yaml").read_text(encoding="utf-8"))
        for step in raw["steps"]:
            for option in step.get("options") or []:
                if isinstance(option, dict):
                    assert set(option) <= {"value", "label", "help"}, (name, step["id"], option)
            assert None not in (step.get("meta") or {}).values(), (name, step["id"])


def test_level_scale_and_its_help_place_it_on_arnsteins_ladder(flow: Flow) -> None:
    niveau = flow.step("niveau")
    assert niveau is not None
    assert [o.value for o in niveau.options] == list(LEVELS)
    assert [o.label for o in niveau.options] == [
        "Information", "Consultation", "Concertation", "Co-construction", "Co-décision"]
    assert "Arnstein" in niveau.help
    for rung in ("manipulation", "thérapie", "implication", "délégation de pouvoir",
                 "contrôle citoyen"):
        assert rung in niveau.help
    for level in LEVELS:
        assert flow.meta["niveaux"][level]["arnstein"]


def test_publics_include_the_four_categories_and_publics_eloignes(flow: Flow) -> None:
    publics = flow.step("publics")
    assert publics is not None and publics.type == "multichoice"
    values = {o.value for o in publics.options}
    assert {"elus", "agents", "acteurs_eco", "etat", "citoyens", "entreprises",
            "eloignes"} <= values


# ------------------------------------------------------------------ conditional steps


@pytest.mark.parametrize("level", LEVELS)
def test_guarantor_is_asked_only_from_concertation_up(flow: Flow, level: str) -> None:
    steps = asked(flow, with_(niveau=level))
    assert ("garant" in steps) == (LEVELS.index(level) >= LEVELS.index("concertation"))


def test_information_level_skips_the_questions_about_contributions(flow: Flow) -> None:
    steps = asked(flow, with_(niveau="information", scenarios=None, scenarios_detail=None,
                              retour=None, retour_detail=None))
    for step_id in ("role_decision", "scenarios", "scenarios_detail", "prise_en_compte",
                    "retour", "retour_detail", "garant"):
        assert step_id not in steps
    assert "evaluation" in steps and "information" in steps


def test_follow_up_questions_appear_only_when_they_make_sense(flow: Flow) -> None:
    assert "scenarios_detail" in asked(flow, COMPLETE)
    assert "scenarios_detail" not in asked(flow, with_(scenarios=False))
    assert "publics_autres" not in asked(flow, COMPLETE)
    assert "publics_autres" in asked(flow, with_(publics=["elus", "autres"]))
    assert "aller_vers" not in asked(flow, with_(publics=["elus", "agents"]))
    assert "aller_vers" in asked(flow, with_(publics=["elus", "citoyens"]))
    assert "budget_detail" not in asked(flow, with_(moyens_financiers="aucun"))
    assert "budget_detail" in asked(flow, with_(moyens_financiers="partiel"))
    assert "retour_detail" not in asked(flow, with_(retour="pas_prevu"))


def _run(flow: Flow, inputs: list[str]) -> tuple[engine.FlowState, list[Any]]:
    transition = engine.start(flow)
    outputs = list(transition.outputs)
    state = transition.state
    for text in inputs:
        if text == "/passer":
            transition = engine.skip(flow, state)
        else:
            transition = engine.answer(flow, state, text)
        state = transition.state
        outputs.extend(transition.outputs)
    return state, outputs


# Numbered answers as typed in the console, for a concertation path.
CONSOLE_CONCERTATION = [
    "Réaménager la place", "/passer", "1",            # projet, contexte, cadre
    "Mairie", "Conseil municipal", "/passer",         # porteur, decideur, gouvernance
    "1, 2", "/passer", "3", "Avis transmis au conseil",  # attentes … role_decision
    "Les usages", "Le mobilier", "/passer", "non",    # objet, marges, non_negociable, scenarios
    "5", "/passer",                                   # publics (citoyens), aller_vers
    "2", "Janvier à mars", "/passer",                 # formats, calendrier, continuite
    "4", "3", "3", "3",                               # moyens (2), facilitateur, garant
    "7", "/passer",                                   # information (rien), documents
    "/passer", "4",                                   # prise_en_compte, retour (pas prévu)
    "/passer", "/passer",                             # evaluation, suivi
    "valider",                                        # the recap (issue 14)
]


def test_engine_asks_the_guarantor_after_a_numbered_concertation_answer(flow: Flow) -> None:
    state, outputs = _run(flow, CONSOLE_CONCERTATION[:9])
    assert state.answers["niveau"] == "concertation"
    asked_ids = [o.step.id for o in outputs if isinstance(o, Question)]
    assert asked_ids[-1] == "role_decision"
    state, outputs = _run(flow, CONSOLE_CONCERTATION)
    asked_ids = [o.step.id for o in outputs if isinstance(o, Question)]
    assert "garant" in asked_ids and "scenarios_detail" not in asked_ids
    assert state.status == "completed"
    gaps = gap_ids(flow, dict(state.answers))
    for expected in ("moyens_humains", "moyens_financiers", "retour", "information",
                     "facilitateur", "garant", "non_negociable", "scenarios", "aller_vers",
                     "evaluation", "sans_reponse"):
        assert expected in gaps


def test_engine_progress_total_never_grows_during_a_framing(flow: Flow) -> None:
    _, outputs = _run(flow, CONSOLE_CONCERTATION[:8])
    last = [o for o in outputs if isinstance(o, Question)][-1]
    assert last.step.id == "niveau"
    assert last.position == 9
    # Every question may still be asked until the answers it depends on are given.
    assert last.total == len(flow.steps)
    totals = []
    for n in range(1, len(CONSOLE_CONCERTATION)):
        _, outputs = _run(flow, CONSOLE_CONCERTATION[:n])
        questions = [o for o in outputs if isinstance(o, Question)]
        if questions:
            totals.append(questions[-1].total)
    assert totals == sorted(totals, reverse=True)
    assert totals[-1] < len(flow.steps)  # the « no » follow-ups dropped out of the count


def test_free_text_on_the_level_question_gets_the_options_again(flow: Flow) -> None:
    state, _ = _run(flow, CONSOLE_CONCERTATION[:8])
    transition = engine.answer(flow, state, "plutôt ambitieux")
    assert not transition.changed
    assert isinstance(transition.outputs[0], Notice)
    again = transition.outputs[-1]
    assert isinstance(again, Question) and again.step.id == "niveau"


def test_optional_step_can_be_skipped_but_a_required_one_cannot(flow: Flow) -> None:
    state, _ = _run(flow, ["Réaménager la place"])
    skipped = engine.skip(flow, state)                # contexte is optional
    assert "contexte" in skipped.state.history and "contexte" not in skipped.state.answers
    refused = engine.skip(flow, skipped.state)        # cadre is required
    assert not refused.changed


# ------------------------------------------------------------------ gap detection


def test_a_complete_framing_has_no_gap(flow: Flow) -> None:
    assert gap_ids(flow, COMPLETE) == []
    summary = summary_of(flow, COMPLETE)
    assert summary["gaps"] == []
    assert summary["counts"]["answered"] == summary["counts"]["asked"] == len(asked(flow,
                                                                                  COMPLETE))


@pytest.mark.parametrize("level", ["concertation", "coconstruction", "codecision"])
def test_concertation_or_more_without_reporting_back_is_flagged_as_important(
    flow: Flow, level: str
) -> None:
    gaps = dict(gap_rules(flow, with_(niveau=level, retour="pas_prevu", retour_detail=None)))
    assert gaps.get("retour") == "important"
    # …and also when the question was never answered (a framing still in progress).
    assert "retour" in gap_ids(flow, with_(niveau=level, retour=None, retour_detail=None))


def test_consultation_without_reporting_back_is_a_softer_gap(flow: Flow) -> None:
    gaps = dict(gap_rules(flow, with_(niveau="consultation", garant=None, retour="pas_prevu",
                                      retour_detail=None)))
    assert "retour" not in gaps
    assert gaps.get("retour_consultation") == "attention"


def test_information_level_is_not_blamed_for_missing_contribution_steps(flow: Flow) -> None:
    answers = with_(niveau="information", attentes=["confiance"], role_decision=None,
                    scenarios=None, scenarios_detail=None, garant=None, prise_en_compte=None,
                    retour=None, retour_detail=None)
    assert gap_ids(flow, answers) == []


def test_information_level_with_expectations_of_contributions_is_flagged(flow: Flow) -> None:
    answers = with_(niveau="information", role_decision=None, scenarios=None,
                    scenarios_detail=None, garant=None, prise_en_compte=None, retour=None,
                    retour_detail=None)
    assert "niveau_information" in gap_ids(flow, answers)


def test_means_that_cannot_support_the_level_are_flagged(flow: Flow) -> None:
    gaps = gap_ids(flow, with_(niveau="codecision", moyens_humains="personne",
                               moyens_financiers="aucun", budget_detail=None,
                               facilitateur="non"))
    assert {"moyens_humains", "moyens_financiers", "facilitateur"} <= set(gaps)
    # The same means are enough for a consultation.
    gaps = gap_ids(flow, with_(niveau="consultation", garant=None, moyens_humains="personne",
                               moyens_financiers="aucun", budget_detail=None,
                               facilitateur="non"))
    assert not {"moyens_humains", "moyens_financiers", "facilitateur"} & set(gaps)


def test_missing_information_evaluation_and_limits_are_flagged(flow: Flow) -> None:
    assert "information" in gap_ids(flow, with_(information=["rien"]))
    assert "information" not in gap_ids(flow, with_(information=["presse"]))
    assert "evaluation" in gap_ids(flow, with_(evaluation=None))
    assert "non_negociable" in gap_ids(flow, with_(non_negociable=None))


def test_publics_eloignes_without_a_way_to_reach_them_is_important(flow: Flow) -> None:
    gaps = dict(gap_rules(flow, with_(aller_vers=None)))
    assert gaps.get("eloignes") == "important"
    gaps = dict(gap_rules(flow, with_(aller_vers=None, publics=["citoyens"])))
    assert gaps.get("aller_vers") == "attention" and "eloignes" not in gaps


def test_skipped_questions_are_listed_without_repeating_dedicated_gaps(flow: Flow) -> None:
    summary = summary_of(flow, with_(contexte=None, suivi=None, evaluation=None))
    skipped = next(g for g in summary["gaps"] if g["id"] == "sans_reponse")
    assert skipped["questions"] == ["Contexte", "Suivi prévu"]
    assert "Critères d'évaluation" not in skipped["questions"]


def test_important_gaps_come_first_and_every_gap_has_wording(flow: Flow) -> None:
    worst = {"projet": "x", "niveau": "codecision", "publics": ["eloignes"],
             "moyens_humains": "personne", "moyens_financiers": "aucun",
             "facilitateur": "non", "garant": "non", "information": ["rien"],
             "retour": "pas_prevu", "scenarios": False}
    summary = summary_of(flow, worst)
    severities = [g["severity"] for g in summary["gaps"]]
    assert severities == sorted(severities, key=lambda s: s != "important")
    for gap in summary["gaps"]:
        assert gap["title"] != gap["id"] and gap["explanation"] and gap["suggestion"], gap


def test_note_never_invents_answers(flow: Flow) -> None:
    """Every restituted answer is the user's text or an option label, nothing else."""
    answers = with_(contexte=None, gouvernance=None)
    summary = summary_of(flow, answers)
    items = {i["step"]: i for s in summary["sections"] for i in s["items"]}
    assert set(items) == set(asked(flow, answers))
    assert items["contexte"]["answer"] is None and items["gouvernance"]["answer"] is None
    assert items["projet"]["answer"] == COMPLETE["projet"]
    assert items["niveau"]["answer"] == "Concertation"
    assert items["publics"]["answer"] == (  # a French list, no capital mid-sentence
        "Habitants et citoyens, publics éloignés de la participation et "
        "acteurs socio-économiques, dont l'ESS")
    assert items["scenarios"]["answer"] == "Oui"


# ------------------------------------------------------------------ templates


def _session(flow: Flow, answers: dict[str, Any], comments: dict[str, str],
             updated: Any) -> dict[str, Any]:
    return {
        "id": 7, "flow": "cadrage", "status": "completed",
        "started_at": "2026-11-20T09:00:00+00:00", "updated_at": updated,
        "answers": views_from_state(flow, answers, comments),
        "summary": summary_of(flow, answers, comments),
    }


def test_chat_summary_is_short_escaped_and_split_in_bubbles(flow: Flow) -> None:
    answers = with_(projet=HOSTILE, retour="pas_prevu", retour_detail=None)
    summary = summary_of(flow, answers)
    text = render("chat/cadrage.j2", flow=flow, summary=summary,
                  answers=views_from_state(flow, answers, {}))
    bubbles = [b.strip() for b in re.split(r"^---$", text, flags=re.M)]
    assert len(bubbles) == 3 and all(bubbles)
    assert "**gras**" not in text                         # user's bold neutralised
    assert "Pas de retour prévu aux participants" in text
    assert "/export" in text
    html = to_html(text)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert all(not line.startswith(("#", "<")) for line in text.splitlines())


def test_chat_summary_of_a_complete_framing_says_nothing_is_missing(flow: Flow) -> None:
    text = render("chat/cadrage.j2", flow=flow, summary=summary_of(flow, COMPLETE),
                  answers=[])
    assert "aucun manque" in text


def test_markdown_note_has_answers_gaps_date_and_sources(flow: Flow) -> None:
    answers = with_(porteur=HOSTILE, retour="pas_prevu", retour_detail=None)
    comments: dict[str, str] = {}
    session = _session(flow, answers, comments, dt.datetime(2026, 11, 22, 10, 0))
    text = render("export/cadrage.md.j2", session=session, flow=flow)
    assert "### Note de cadrage" in text
    assert "22 novembre 2026" in text
    assert "\\<script\\>" in text and "<script>" not in text
    assert "\\*\\*gras\\*\\*" in text
    assert "Pas de retour prévu aux participants" in text
    for view in views_from_state(flow, {k: v for k, v in answers.items() if k != "porteur"},
                                 {}):
        label = flow.step(view["step"]).meta["label"]
        assert french(f"**{label} :**") in text, view["step"]  # typeset, by design
    for source in ("Charte de la participation du public", "Boussole de la participation",
                   "Arnstein", "S'initier aux démarches de coopérations", "Biovallée"):
        assert source in text
    assert text.index("#### Sources") > text.index("#### Vos réponses")


def test_html_note_is_autoescaped_and_reads_an_iso_date(flow: Flow) -> None:
    answers = with_(projet=HOSTILE)
    session = _session(flow, answers, {}, "2026-03-05T08:00:00+00:00")
    html = render("export/cadrage.html.j2", session=session, flow=flow, chart_png_b64=None)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "5 mars 2026" in html
    assert "<img" not in html
    assert "<h4>Sources</h4>" in html
    assert "Aucun manque repéré" in html


def test_export_fragment_is_empty_without_a_summary(flow: Flow) -> None:
    session = {"id": 1, "flow": "cadrage", "status": "in_progress", "updated_at": None,
               "answers": [], "summary": {}}
    assert render("export/cadrage.md.j2", session=session, flow=flow).strip() == ""
    assert render("export/cadrage.html.j2", session=session, flow=flow,
                  chart_png_b64=None).strip() == ""


# ------------------------------------------------------------------ in the console


async def test_console_user_completes_the_framing_with_numbers_and_exports_it(
    alice: Any, flow: Flow
) -> None:
    import json

    from markupsafe import escape

    from storage.reports.render import md_escape

    await alice.say("/cadrage")
    assert "(1/" in alice.text()
    for text in CONSOLE_CONCERTATION:
        await alice.say(text)
    summary_text = alice.text()
    assert "Votre note de cadrage est prête" in summary_text
    assert "Pas de retour prévu aux participants" in summary_text

    state, _ = _run(flow, CONSOLE_CONCERTATION)
    views = views_from_state(flow, dict(state.answers), {})
    for fmt in ("md", "html", "csv", "json"):
        replies = await alice.say(f"/export {fmt}")
        files = [r.file for r in replies if r.file is not None]
        assert files, (fmt, alice.text())
        content = files[0].content.decode("utf-8-sig")
        if fmt == "json":
            session = json.loads(content)["sessions"][-1]
            assert {a["step"]: a["value"] for a in session["answers"]} == dict(state.answers)
            assert "retour" in [g["id"] for g in session["summary"]["gaps"]]
            continue
        for view in views:
            shown = view["display"]
            forms = {shown, md_escape(shown), str(escape(shown))}
            assert any(form in content for form in forms), (fmt, view["step"])
        if fmt in ("md", "html"):
            assert "Note de cadrage de la démarche participative" in content


# ------------------------------------------------------------------ compulsory participation


def test_a_participation_imposed_by_law_gets_its_legal_frame_in_the_note(flow: Flow) -> None:
    answers = with_(cadre="reglementaire")
    section = summary_of(flow, answers)["reglementaire"]
    assert section is not None
    text = " ".join(section["items"])
    assert "L103-2" in text and "plan local d'urbanisme" in text
    assert "L121-15-1" in text and "Commission nationale du débat public (CNDP)" in text
    assert "garant" in text
    assert gap_ids(flow, answers) == []  # the frame is information, not a blame
    summary = summary_of(flow, answers)
    chat = render("chat/cadrage.j2", flow=flow, summary=summary, answers=[])
    assert "**La concertation imposée par la loi**" in chat and "L103-2" in chat
    session = {"id": 1, "flow": "cadrage", "status": "completed", "started_at": None,
               "updated_at": None, "answers": [], "summary": summary}
    markdown = render("export/cadrage.md.j2", session=session, flow=flow)
    assert "#### La concertation imposée par la loi" in markdown
    html = render("export/cadrage.html.j2", session=session, flow=flow, chart_png_b64=None)
    assert "<h4>La concertation imposée par la loi</h4>" in html


def test_a_plu_revision_framing_mentions_the_compulsory_concertation(flow: Flow) -> None:
    answers = with_(projet="Révision du Plan Local d'Urbanisme de la commune",
                    cadre="volontaire")
    gaps = dict(gap_rules(flow, answers))
    assert gaps.get("cadre_reglementaire") == "important"
    section = summary_of(flow, answers)["reglementaire"]
    assert section is not None and "L103-2" in " ".join(section["items"])
    assert "service urbanisme" in section["detected"]
    assert summary_of(flow, with_(contexte="révision du PLU en 2027"))["reglementaire"]
    # a word that merely contains the letters is not a planning document
    assert summary_of(flow, with_(projet="Un pluviomètre partagé"))["reglementaire"] is None


def test_a_voluntary_framing_without_planning_document_has_no_legal_section(flow: Flow) -> None:
    assert summary_of(flow, COMPLETE)["reglementaire"] is None
    assert "cadre_reglementaire" not in gap_ids(flow, COMPLETE)
