"""/statut: from a few answers to one to three legal forms, why, and whom to contact."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from flows.loader import load_flow
from flows.model import Flow
from flows.summaries import SummaryInput
from knowledge.advisor import contacts_for, recommend
from knowledge.base import load_knowledge
from knowledge.statut_summary import summarise_statut
from storage.reports.render import render

KB = load_knowledge()


def statut_summary(data: SummaryInput) -> dict[str, Any]:
    return summarise_statut(data, KB)


FLOW_PATH = Path(__file__).resolve().parent.parent / "flows" / "definitions" / "statut.yaml"


@pytest.fixture(scope="module")
def flow() -> Flow:
    return load_flow(FLOW_PATH)


def _ids(answers: dict[str, Any]) -> list[str]:
    return [r.form_id for r in recommend(answers)]


def test_collectivite_as_a_minority_member_points_to_scic() -> None:
    ids = _ids(
        {
            "objet": "activite",
            "porteur": "collectif",
            "lucrativite": "limite",
            "collectivite": "minoritaire",
            "salaries": False,
            "multi": True,
        }
    )
    assert ids[0] == "forme/scic"
    assert "50 %" in recommend({"objet": "activite", "collectivite": "minoritaire"})[0].why


def test_employee_owners_point_to_scop() -> None:
    ids = _ids(
        {
            "objet": "activite",
            "porteur": "collectif",
            "lucrativite": "limite",
            "collectivite": "non",
            "salaries": True,
            "multi": False,
        }
    )
    assert ids[0] == "forme/scop"


def test_non_profit_collective_points_to_association() -> None:
    ids = _ids(
        {
            "objet": "activite",
            "porteur": "collectif",
            "lucrativite": "aucun",
            "collectivite": "non",
            "salaries": False,
            "multi": False,
        }
    )
    assert ids[0] == "forme/association"


def test_public_control_points_to_spl_or_sem() -> None:
    public = {
        "objet": "service",
        "porteur": "public",
        "lucrativite": "aucun",
        "collectivite": "majoritaire",
    }
    assert _ids({**public, "prives": False})[0] == "forme/spl"
    assert _ids({**public, "prives": True})[:2] == ["forme/semop", "forme/sem"]


def test_other_purposes() -> None:
    assert _ids({"objet": "emploi"}) == ["forme/groupement-employeurs"]
    assert _ids({"objet": "dons"})[0] == "forme/fonds-de-dotation"
    assert _ids({"objet": "entreprendre"})[0] == "forme/cae"


def test_contacts_offer_urscop_for_cooperatives_and_always_the_cress() -> None:
    assert "contact/urscop" in contacts_for(["forme/scic"])
    assert "contact/urscop" in contacts_for(["forme/scop"])
    for forms in (["forme/association"], ["forme/spl"], []):
        assert "contact/cress" in contacts_for(forms)
    assert "dispositif/dla" in contacts_for(["forme/association"])


def _all_paths(flow: Flow) -> list[dict[str, Any]]:
    """Every combination of answers a person can give, following the ``when`` rules."""
    paths: list[dict[str, Any]] = [{}]
    for step in flow.steps:
        grown: list[dict[str, Any]] = []
        for answers in paths:
            if not step.visible(answers):
                grown.append(answers)
                continue
            values = [True, False] if step.type == "yesno" else [o.value for o in step.options]
            grown += [{**answers, step.id: value} for value in values]
        paths = grown
    return paths


def test_every_path_gives_one_to_three_known_forms_with_reasons(flow: Flow) -> None:
    kb = load_knowledge()
    paths = _all_paths(flow)
    assert len(paths) > 20
    for answers in paths:
        recs = recommend(answers)
        assert 1 <= len(recs) <= 3, answers
        for rec in recs:
            entry = kb.get(rec.form_id)
            assert entry is not None and entry.kind == "forme"
            assert rec.why.strip()
        assert len({r.form_id for r in recs}) == len(recs)


def test_summary_and_templates(flow: Flow) -> None:
    answers = {
        "objet": "activite",
        "porteur": "collectif",
        "lucrativite": "limite",
        "collectivite": "minoritaire",
        "salaries": False,
        "multi": True,
    }
    summary = summarise_statut(SummaryInput(flow=flow, answers=answers, comments={}),
                               load_knowledge())
    assert summary["forms"][0]["id"] == "forme/scic"
    assert summary["forms"][0]["answer"] and summary["forms"][0]["why"]
    assert summary["contacts"][0]["id"] == "contact/urscop"

    chat = render("chat/statut.j2", flow=flow, summary=summary, answers=[])
    assert "Société coopérative d'intérêt collectif (SCIC)" in chat
    assert "Union régionale des SCOP et SCIC (URSCOP)" in chat
    assert "pas un avis juridique" in chat
    session = {
        "id": 1,
        "flow": "statut",
        "status": "completed",
        "started_at": None,
        "updated_at": None,
        "answers": [],
        "summary": summary,
    }
    markdown = render("export/statut.md.j2", session=session, flow=flow)
    assert "#### Société coopérative d'intérêt collectif (SCIC)" in markdown
    html = render("export/statut.html.j2", session=session, flow=flow, chart_png_b64=None)
    assert "<h4" in html and "**" not in html
    assert "d&#39;intérêt collectif" in html


async def test_statut_in_chat_ends_with_forms_and_contacts(alice) -> None:
    await alice.say("/statut")
    for reply in ("1", "2", "2", "2", "non", "oui", "valider"):  # valider: the recap
        await alice.say(reply)
    text = alice.text()
    assert "SCIC" in text
    assert "URSCOP" in text
    assert "CRESS" in text


def test_combinations_cover_each_form_the_flow_can_reach(flow: Flow) -> None:
    reached = set(itertools.chain.from_iterable(_ids(a) for a in _all_paths(flow)))
    for form in (
        "forme/scop",
        "forme/scic",
        "forme/association",
        "forme/cae",
        "forme/spl",
        "forme/sem",
        "forme/semop",
        "forme/gip",
        "forme/groupement-employeurs",
        "forme/fonds-de-dotation",
        "forme/fondation",
        "forme/societe-commerciale-ess",
    ):
        assert form in reached, form


def test_chat_summary_names_a_form_with_its_own_article(flow: Flow) -> None:
    answers = {"objet": "service", "porteur": "public", "lucrativite": "aucun",
               "collectivite": "majoritaire", "prives": False}
    summary = statut_summary(SummaryInput(flow=flow, answers=answers, comments={}))
    assert [f["id"] for f in summary["forms"]] == ["forme/spl", "forme/gip"]
    chat = render("chat/statut.j2", flow=flow, summary=summary, answers=[])
    assert "« c'est quoi un GIP ? »" in chat
    assert "une GIP" not in chat and "une Fonds" not in chat
    dons = statut_summary(SummaryInput(flow=flow, answers={"objet": "dons"}, comments={}))
    assert dons["forms"][0]["ask"] == "un fonds de dotation"


def test_service_summary_shows_the_legal_frame_in_chat_and_exports(flow: Flow) -> None:
    answers = {"objet": "service", "porteur": "collectif", "lucrativite": "aucun",
               "collectivite": "non", "salaries": False, "multi": False}
    summary = statut_summary(SummaryInput(flow=flow, answers=answers, comments={}))
    ids = [f["id"] for f in summary["frames"]]
    assert ids == ["dispositif/marche-public", "dispositif/dsp", "dispositif/sieg"]
    chat = render("chat/statut.j2", flow=flow, summary=summary, answers=[])
    assert "**Le cadre juridique à connaître**" in chat
    assert "Délégation de service public (DSP) et concession" in chat
    session = {"id": 1, "flow": "statut", "status": "completed", "started_at": None,
               "updated_at": None, "answers": [], "summary": summary}
    markdown = render("export/statut.md.j2", session=session, flow=flow)
    assert "### Le cadre juridique à connaître" in markdown
    html = render("export/statut.html.j2", session=session, flow=flow, chart_png_b64=None)
    assert "<h3>Le cadre juridique à connaître</h3>" in html
