"""« Quelle forme juridique ? » — from the /statut answers to one to three forms.

The rules follow the orienting questions of the Avise guide and the CRESS PACA page
(individual or collective project, profit-sharing or not, governance), plus the law on who
may hold capital: a commune may in principle not hold shares of a commercial company (CGCT
L2253-1), save the listed exceptions (SCIC ≤ 50 % for collectivités, SPL 100 % public, SEM
with a public majority…), so a SAS or SARL is never proposed when a collectivité must be a
member. A project running a public service for the collectivité is entrusted by a marché
public or a délégation de service public, never by a subvention: :func:`frames_for` names
those entries. The reasons shown to the person are in ``advisor.fr.yaml``; this module only
decides which apply. It is an orientation, not legal advice, and the summary says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flows.yamlsource import load_yaml

ADVISOR_PATH = Path(__file__).parent / "advisor.fr.yaml"
MAX_FORMS = 3


@dataclass(frozen=True, slots=True)
class Recommendation:
    form_id: str
    """A knowledge entry id, e.g. ``forme/scic``."""
    why: str


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return load_yaml(ADVISOR_PATH)


def reason(key: str) -> str:
    return str(_data()["reasons"][key])


def name_in_sentence(form_id: str) -> str:
    """« une SCIC », « un fonds de dotation »: the form with its article, for a sentence."""
    return str((_data().get("names") or {}).get(form_id) or "")


def frames_for(answers: Mapping[str, Any]) -> list[str]:
    """Entries on the legal frame these answers call for (marché, DSP, capital rules)."""
    frames: Mapping[str, Any] = _data().get("frames") or {}
    found: list[str] = []
    if answers.get("objet") == "service" and answers.get("collectivite") != "majoritaire":
        found += [str(f) for f in frames.get("service") or []]
    if answers.get("collectivite") == "minoritaire":
        found += [str(f) for f in frames.get("capital") or []]
    return list(dict.fromkeys(found))


def recommend(answers: Mapping[str, Any]) -> list[Recommendation]:
    """One to three forms, best first, each with the reason it fits these answers."""
    picks: list[tuple[str, str]] = []

    def add(form_id: str, key: str) -> None:
        if form_id not in (f for f, _ in picks):
            picks.append((form_id, key))

    objet = answers.get("objet")
    porteur = answers.get("porteur")
    profit = answers.get("lucrativite")
    public = answers.get("collectivite")
    if objet == "emploi":
        add("forme/groupement-employeurs", "ge_emploi")
    elif objet == "dons":
        add("forme/fonds-de-dotation", "fonds_dons")
        add("forme/fondation", "fondation_dons")
    elif objet == "entreprendre":
        add("forme/cae", "cae_seul")
        add("forme/scop", "scop_entreprendre")
        add("forme/societe-commerciale-ess", "commerciale_ess_seul")
    elif public == "majoritaire":
        if answers.get("prives") is True:
            if objet == "service":
                add("forme/semop", "semop_service")
            add("forme/sem", "sem_prive")
            if objet != "service":
                add("forme/semop", "semop_service")
        else:
            add("forme/spl", "spl_public")
            add("forme/gip", "gip_public")
    else:
        _collective(add, answers, objet, porteur, profit, public)
    if not picks:
        add("forme/association", "defaut")
        add("forme/scic", "defaut")
    return [Recommendation(form_id, reason(key)) for form_id, key in picks[:MAX_FORMS]]


def _collective(
    add: Any, answers: Mapping[str, Any], objet: Any, porteur: Any, profit: Any, public: Any
) -> None:
    """Projects carried by people or private structures, a collectivité at most a member."""
    employees = answers.get("salaries") is True
    several = answers.get("multi") is True
    if porteur == "seul" and objet == "activite" and profit != "aucun":
        add("forme/cae", "cae_seul")
    if employees:
        add("forme/scop", "scop_salaries")
        if several or public == "minoritaire":
            add("forme/scic", "scic_salaries_multi")
    if public == "minoritaire":
        add("forme/scic", "scic_collectivite")
    elif several:
        add("forme/scic", "scic_multi")
    if profit == "aucun":
        add(
            "forme/association",
            "association_service" if objet == "service" else "association_non_lucratif",
        )
    elif public == "minoritaire":
        pass  # no SAS or SARL: a commune may not hold its shares (CGCT L2253-1); SCIC above
    elif profit == "partage":
        add("forme/societe-commerciale-ess", "commerciale_ess_partage")
    elif profit == "limite":
        add(
            "forme/societe-commerciale-ess",
            "commerciale_ess_seul" if porteur == "seul" else "commerciale_ess_limite",
        )
    if profit in ("aucun", "limite") and objet == "activite":
        add("forme/agrement-esus", "esus_complement")


def contacts_for(form_ids: list[str]) -> list[str]:
    """Entries to offer at the end (URSCOP for a SCOP or SCIC, the CRESS, the DLA…)."""
    data = _data()
    always = [str(c) for c in data["contacts_always"]]
    limit = int(data["max_contacts"])
    specific: list[str] = []
    for form_id in form_ids:
        specific += [str(c) for c in (data["contacts_by_form"].get(form_id) or [])]
    specific = [c for c in dict.fromkeys(specific) if c not in always]
    return (specific[: max(0, limit - len(always))] + always)[:limit]
