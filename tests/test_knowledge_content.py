"""The knowledge content as outside checks see it: required ids, short answers, sources,
links only to sites our sources cite, and a clean ``coopbot check``."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from flows.yamlsource import load_yaml
from knowledge.base import CONTENT_DIR, check_knowledge, load_knowledge

_REQUIRED_TEXT = """
forme/association forme/scop forme/scic forme/cae forme/mutuelle forme/fondation
forme/fonds-de-dotation forme/societe-commerciale-ess forme/agrement-esus forme/gip forme/spl
forme/sem forme/semop forme/groupement-employeurs
dispositif/subvention dispositif/marche-public dispositif/appel-a-projets
dispositif/clauses-sociales dispositif/cpo dispositif/dsp dispositif/ptce dispositif/dla
contact/cress contact/ess-france contact/rtes contact/avise contact/france-active
contact/labo-ess contact/anpp contact/cerema contact/ademe contact/banque-des-territoires
contact/cci contact/cma contact/fabrique-des-transitions contact/instercoop contact/urscop
contact/mouvement-associatif contact/france-tiers-lieux contact/anct contact/etat-dreets
contact/region contact/intercommunalite
outil/boussole-participation outil/charte-participation outil/fresque-engagement-local
outil/echelle-arnstein outil/maturite-cooperative outil/agora-4-fantastiques outil/eit
notion/ess notion/cooperation notion/coopetition notion/tiers-facilitateur
notion/types-de-relation notion/rse-rte notion/interconnaissance notion/postures
"""
REQUIRED = _REQUIRED_TEXT.split()

# Marked « non vérifié » in the research notes: never linked.
UNVERIFIED_DOMAINS = {
    "ess-france.org",
    "les-scop.coop",
    "agence-cohesion-territoires.gouv.fr",
    "cci.fr",
    "artisanat.fr",
}


@pytest.fixture(scope="module")
def kb():
    return load_knowledge()


def test_content_has_no_problem() -> None:
    assert [str(p) for p in check_knowledge()] == []


@pytest.mark.parametrize("entry_id", REQUIRED)
def test_required_entry_exists_with_several_phrasings(kb, entry_id: str) -> None:
    entry = kb.get(entry_id)
    assert entry is not None, entry_id
    assert len(entry.questions) >= 3
    assert entry.kind == entry_id.split("/")[0]


def test_every_answer_fits_a_chat_bubble_and_names_a_source(kb) -> None:
    for entry in kb.entries:
        assert len(entry.answer) < 700, entry.id
        assert entry.sources, entry.id
        assert entry.answer.strip() and entry.title.strip(), entry.id


def test_links_only_to_allowed_and_verified_sites(kb) -> None:
    allowed = set(load_yaml(CONTENT_DIR / "_domains.yaml")["domaines"])
    assert not allowed & UNVERIFIED_DOMAINS
    for entry in kb.entries:
        for link in entry.links:
            host = (urlparse(link.url).hostname or "").removeprefix("www.")
            assert link.url.startswith("https://"), link.url
            assert any(host == d or host.endswith("." + d) for d in allowed), (entry.id, host)
            assert not any(host == d or host.endswith("." + d) for d in UNVERIFIED_DOMAINS)


def test_related_entries_exist(kb) -> None:
    for entry in kb.entries:
        for other in entry.see_also:
            assert kb.get(other) is not None, (entry.id, other)


def test_unverified_details_are_flagged_not_stated(kb) -> None:
    """A fact no public source confirmed is said « à vérifier » with whom; facts checked
    since (ESUS issuer, SEMOP law, public money in a fonds de dotation) are stated."""
    scop = kb.get("forme/scop")
    assert "à vérifier auprès de l'URSCOP" in scop.details  # SAS form for a SCOP
    sem = kb.get("forme/sem")
    assert "à vérifier auprès" in sem.details  # minimum number of shareholders
    esus = kb.get("forme/agrement-esus")
    assert "préfet du département" in esus.answer and "R3332-21-3" in esus.answer
    semop = kb.get("forme/semop")
    assert "L1541-1" in semop.answer and "à vérifier" not in semop.answer
    fonds = kb.get("forme/fonds-de-dotation")
    assert "Aucun fonds public" in fonds.answer and "140" in fonds.answer
    for entry in kb.entries:  # pay caps of ESUS are unverified: no figure given
        assert "SMIC" not in entry.answer + entry.details, entry.id


def test_no_internal_doubt_or_internal_notes_reach_a_user(kb) -> None:
    """What people read cites public texts; an internal doubt never shows."""
    banned = ("notes §", "notes de recherche", "n'a pas pu être vérifié", "non vérifié",
              "pas vérifié", "nos sources", "à vérifier.")
    for entry in kb.entries:
        text = " ".join((entry.answer, entry.details, *entry.sources,
                         *(link.title for link in entry.links)))
        for phrase in banned:
            assert phrase not in text, (entry.id, phrase)
        # « à vérifier » always says with whom or where
        for chunk in text.split("à vérifier")[1:]:
            assert chunk.lstrip().startswith(("auprès", "dans", "avec")), (entry.id, chunk[:40])
