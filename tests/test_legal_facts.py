"""One test per legal fact corrected in issue 14: the answer states the rule and its
reference (loi, code article, circulaire), the way a reviewer would check it.

Questions are asked of the knowledge base as a person would type them; the /statut
advisor is run on the answers that used to give a wrong recommendation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.loader import load_flow
from flows.model import Flow
from flows.summaries import SummaryInput
from knowledge.advisor import frames_for, reason, recommend
from knowledge.base import KnowledgeBase, load_knowledge
from knowledge.model import Entry
from knowledge.statut_summary import summarise_statut

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture(scope="module")
def statut() -> Flow:
    return load_flow(ROOT / "flows" / "definitions" / "statut.yaml")


def answer_to(kb: KnowledgeBase, question: str, expected: str) -> Entry:
    """The entry Coopbot answers with; it must be the expected one, first."""
    result = kb.ask(question)
    assert result.status == "answer", (question, result.status,
                                       [a.entry.id for a in result.answers])
    entry = result.answers[0].entry
    assert entry.id == expected, (question, entry.id)
    return entry


def test_no_public_money_may_go_to_a_fonds_de_dotation(kb: KnowledgeBase) -> None:
    entry = answer_to(kb, "la mairie peut elle verser de l'argent a un fonds de dotation",
                      "forme/fonds-de-dotation")
    assert "Aucun fonds public" in entry.answer
    assert "2008-776" in entry.answer and "art. 140 III" in entry.answer
    assert "arrêté conjoint" in entry.answer  # the only derogation
    assert "à vérifier" not in entry.answer
    assert "140 III" in reason("fonds_dons")


def test_a_commune_may_not_hold_shares_of_a_commercial_company(kb: KnowledgeBase) -> None:
    entry = answer_to(kb, "une commune peut elle devenir actionnaire d'une sas",
                      "notion/participation-capital")
    assert "L2253-1" in entry.answer and "En principe, non" in entry.answer
    for exception in ("SEM", "SPL", "SCIC", "énergies renouvelables"):
        assert exception in entry.answer
    scop = kb.get("forme/scop")
    assert scop is not None
    assert "en principe interdit" in scop.answer and "L2253-1" in scop.answer


def test_statut_never_proposes_a_sas_or_sarl_when_a_collectivite_must_be_a_member(
    statut: Flow,
) -> None:
    base = {"objet": "activite", "porteur": "collectif", "collectivite": "minoritaire",
            "salaries": False, "multi": False}
    for profit in ("limite", "partage", "aucun"):
        recs = recommend({**base, "lucrativite": profit})
        ids = [r.form_id for r in recs]
        assert "forme/societe-commerciale-ess" not in ids, profit
        assert ids[0] == "forme/scic"
        assert "L2253-1" in recs[0].why
    answers = {**base, "lucrativite": "limite"}
    summary = summarise_statut(SummaryInput(statut, answers, {}), load_knowledge())
    assert [f["id"] for f in summary["frames"]] == ["notion/participation-capital"]


def test_statut_service_branch_is_a_marche_or_a_dsp_never_a_subvention(statut: Flow) -> None:
    answers: dict[str, Any] = {"objet": "service", "porteur": "collectif",
                               "lucrativite": "aucun", "collectivite": "non",
                               "salaries": False, "multi": False}
    recs = recommend(answers)
    assert recs[0].form_id == "forme/association"
    why = recs[0].why
    assert "marché public" in why and "délégation de service public" in why
    assert "subvention n'est possible que pour un projet conçu et porté par l'association" in why
    assert "art. 9-1" in why
    assert frames_for(answers)[:2] == ["dispositif/marche-public", "dispositif/dsp"]
    help_text = statut.step("objet").help  # type: ignore[union-attr]
    assert "gérée pour la" not in help_text
    assert "délégation de service public" in help_text


def test_cpo_and_aap_cite_the_2015_circular(kb: KnowledgeBase) -> None:
    cpo = answer_to(kb, "quelle circulaire pour les conventions pluriannuelles",
                    "dispositif/cpo")
    assert "n° 5811/SG du 29 septembre 2015" in cpo.answer
    aap = kb.get("dispositif/appel-a-projets")
    assert aap is not None and "5811/SG du 29 septembre 2015" in aap.answer
    assert "remplacé celle du 18 janvier 2010" in aap.answer


def test_subvention_states_the_republican_contract_report_and_publication(
    kb: KnowledgeBase,
) -> None:
    entry = answer_to(kb, "obligations de l'association qui recoit une subvention",
                      "dispositif/subvention")
    assert "contrat d'engagement républicain" in entry.answer and "art. 10-1" in entry.answer
    assert "compte rendu financier" in entry.answer and "six mois" in entry.answer
    assert "23 000 €" in entry.answer and "publiées" in entry.answer
    assert "2000-321" in entry.answer
    cer = answer_to(kb, "engagement republicain des associations",
                    "dispositif/contrat-engagement-republicain")
    assert "art. 10-1" in cer.answer and "2 janvier 2022" in cer.answer


def test_spaser_name_threshold_and_the_2026_environmental_obligation(kb: KnowledgeBase) -> None:
    entry = answer_to(kb, "spaser obligatoire pour quelles collectivites",
                      "dispositif/clauses-sociales")
    assert "socialement et écologiquement responsables" in entry.answer
    assert "50 millions" in entry.answer and "2022-767" in entry.answer
    assert "22 août 2026" in entry.answer and "art. 35" in entry.answer


def test_marche_thresholds_are_given_with_their_article(kb: KnowledgeBase) -> None:
    entry = answer_to(kb, "seuils de procedure des marches publics",
                      "dispositif/seuils-commande-publique")
    assert "R2122-8" in entry.answer and "2025-1386" in entry.answer
    assert "60 000 € HT" in entry.answer and "100 000 € HT" in entry.answer
    assert "216 000 € HT" in entry.answer and "L2124-1" in entry.answer
    assert "vérifiés en décembre 2026" in entry.answer
    marche = kb.get("dispositif/marche-public")
    assert marche is not None
    assert "L1111-1" in marche.answer and "seuils" in marche.answer


def test_scic_agrement_was_abolished_and_a_revision_cooperative_applies(
    kb: KnowledgeBase,
) -> None:
    entry = answer_to(kb, "faut il encore un agrement du prefet pour une scic", "forme/scic")
    assert "Plus d'agrément préfectoral" in entry.answer and "2012-387" in entry.answer
    assert "révision coopérative" in entry.answer
    assert "peut-être" not in entry.details


def test_esus_duration_and_where_to_apply(kb: KnowledgeBase) -> None:
    entry = answer_to(kb, "pour combien d'annees est donne l'agrement esus",
                      "forme/agrement-esus")
    assert "**5 ans**" in entry.answer and "**2 ans**" in entry.answer
    assert "moins de 3 ans" in entry.answer
    assert "préfet du département" in entry.answer and "DDETS" in entry.answer
    assert "R3332-21-3" in entry.answer


def test_sem_shareholder_count_is_flagged_as_disputed(kb: KnowledgeBase) -> None:
    entry = answer_to(kb, "societe d'economie mixte locale", "forme/sem")
    assert "7 actionnaires" not in entry.answer
    assert "2015-1127" in entry.details and "à vérifier auprès" in entry.details
    assert "L1522-2" in entry.answer  # private shareholders keep at least 15 %


def test_ess_company_percentages_are_in_the_law(kb: KnowledgeBase) -> None:
    entry = answer_to(kb, "quelle part des benefices une sas de l'ess doit elle mettre en reserve",
                      "forme/societe-commerciale-ess")
    assert "**20 %**" in entry.answer and "**50 %**" in entry.answer
    assert "art. 1, II, 2°" in entry.answer
    assert "décret" not in entry.answer
    assert "dans la loi elle-même" in entry.details


def test_fondation_d_entreprise_lasts_at_least_five_years(kb: KnowledgeBase) -> None:
    entry = answer_to(kb, "combien de temps dure une fondation d'entreprise", "forme/fondation")
    assert "**au moins 5 ans**" in entry.answer and "art. 19-2" in entry.answer


def test_epci_competence_for_business_property_aid(kb: KnowledgeBase) -> None:
    entry = answer_to(kb, "qui aide une entreprise a financer ses locaux, la region ou l'interco",
                      "contact/intercommunalite")
    assert "L1511-3" in entry.answer and "seuls compétents" in entry.answer
    assert "à vérifier" not in entry.answer


def test_readme_names_the_rnct_as_the_seed_gives_it() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sources = readme.split("## Sources", 1)[1].split("---", 1)[0]
    assert "Rencontres nationales de la coopération territoriale (RNCT)" in sources
    assert "« S'initier aux démarches de coopérations »" in sources
    assert "Réseau national des territoires coopératifs" not in readme
