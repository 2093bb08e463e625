"""Framing note of a participatory process: restitution of the answers and the gaps.

Like the Boussole de la participation, the note only gives back what the user typed
("elle restitue ce que vous avez saisi") and points at what is missing or fragile; it
never writes content in the user's place. The rules live here, the French wording of
each gap lives in ``flows/definitions/cadrage.yaml`` (``meta.gaps``) so that a content
editor can reword it. :func:`restitution` is shared with the
``charte`` and ``relation`` summaries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flows.folding import fold
from flows.model import Flow, Step
from flows.summaries.base import SummaryInput
from flows.summaries.shapes import CadrageSummary
from flows.views import display_value

LEVELS: tuple[str, ...] = (
    "information",
    "consultation",
    "concertation",
    "coconstruction",
    "codecision",
)
"""Order of the ``niveau`` options, lowest first; index 2 (concertation) is the first
level where contributions really weigh on the decision (Boussole, échelle)."""
CONCERTATION = LEVELS.index("concertation")
# Expectations that need contributions from participants, hence more than information.
_EXPECTS_CONTRIBUTIONS = {"connaissance", "qualite", "pouvoir_agir", "mobiliser"}
# Optional steps whose absence already has a dedicated gap.
_OWN_GAP = {"non_negociable", "evaluation", "aller_vers"}
SEVERITY_ORDER = {"important": 0, "attention": 1}
_IMPOSED = {"reglementaire", "les_deux"}
"""Answers to « cadre » that say the law imposes (part of) the participation."""


def restitution(
    flow: Flow, answers: Mapping[str, Any], comments: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Every asked step, grouped by section in flow order; unanswered ones kept as ``None``.

    Steps hidden by their ``when`` are left out: they were never asked, so listing
    them as « sans réponse » would blame the user for nothing.
    """
    sections: list[dict[str, Any]] = []
    for step in flow.steps:
        if not step.visible(dict(answers)):
            continue
        if not sections or sections[-1]["title"] != step.section:
            sections.append({"title": step.section, "items": []})
        value = answers.get(step.id)
        sections[-1]["items"].append(
            {
                "step": step.id,
                "label": str(step.meta.get("label") or step.ask),
                "ask": step.ask,
                "answer": display_value(step, value, scale_number=False) or None,
                "comment": comments.get(step.id) or None,
            }
        )
    return sections


def unanswered(flow: Flow, answers: Mapping[str, Any]) -> list[Step]:
    """Steps that were asked (visible) but have no answer: skipped, or not reached yet."""
    return [s for s in flow.steps if s.visible(dict(answers)) and s.id not in answers]


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(text)).split())


def mentions_planning(flow: Flow, answers: Mapping[str, Any]) -> bool:
    """Does the project or its context name a planning document (PLU, SCoT, ZAC…)?"""
    words = [_plain(str(w)) for w in flow.meta.get("urbanisme_mots") or []]
    typed = _plain(" ".join(str(answers.get(k) or "") for k in ("projet", "contexte")))
    return any(re.search(rf"\b{re.escape(w)}\b", typed) for w in words if w)


def regulatory(flow: Flow, answers: Mapping[str, Any]) -> dict[str, Any] | None:
    """The compulsory-participation section of the note, or ``None`` when it does not apply.

    Shown when the person says the law imposes (part of) the participation, and when the
    project names a planning document: a PLU revision always has a compulsory concertation.
    """
    imposed = answers.get("cadre") in _IMPOSED
    planning = mentions_planning(flow, answers)
    if not imposed and not planning:
        return None
    texts: Mapping[str, str] = flow.meta.get("reglementaire") or {}
    items = [str(texts.get("urbanisme") or "")]
    if imposed:
        items.append(str(texts.get("environnement") or ""))
    return {
        "title": str(texts.get("title") or ""),
        "intro": str(texts.get("intro") or ""),
        "detected": str(texts.get("detected") or "") if planning and not imposed else "",
        "items": [i for i in items if i],
        "source": str(texts.get("source") or ""),
    }


def _level(answers: Mapping[str, Any]) -> int | None:
    value = answers.get("niveau")
    return LEVELS.index(value) if value in LEVELS else None


def gap_rules(flow: Flow, answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(gap id, severity)`` for each weakness of the framing, most serious first.

    Each rule reads only the user's answers; the wording comes from the YAML.
    """
    level = _level(answers)
    high = level is not None and level >= CONCERTATION
    found: list[tuple[str, str]] = []

    if mentions_planning(flow, answers) and answers.get("cadre") not in _IMPOSED:
        found.append(("cadre_reglementaire", "important"))

    if high and answers.get("moyens_humains") in (None, "personne"):
        found.append(("moyens_humains", "important"))
    if high and answers.get("moyens_financiers") == "aucun":
        found.append(("moyens_financiers", "important"))
    if high and answers.get("retour") in (None, "pas_prevu"):
        found.append(("retour", "important"))
    elif level == LEVELS.index("consultation") and answers.get("retour") in (None, "pas_prevu"):
        found.append(("retour_consultation", "attention"))
    information = [v for v in answers.get("information") or [] if v != "rien"]
    if not information:
        found.append(("information", "important"))
    expectations = set(answers.get("attentes") or [])
    if level == 0 and expectations & _EXPECTS_CONTRIBUTIONS:
        found.append(("niveau_information", "important"))
    if high and answers.get("facilitateur") == "non":
        found.append(("facilitateur", "attention"))
    if answers.get("garant") == "non":
        found.append(("garant", "attention"))
    if "non_negociable" not in answers:
        found.append(("non_negociable", "attention"))
    if high and answers.get("scenarios") is False:
        found.append(("scenarios", "attention"))
    aller_vers = flow.step("aller_vers")
    if aller_vers and aller_vers.visible(dict(answers)) and "aller_vers" not in answers:
        if "eloignes" in (answers.get("publics") or []):
            found.append(("eloignes", "important"))
        else:
            found.append(("aller_vers", "attention"))
    if "evaluation" not in answers:
        found.append(("evaluation", "attention"))
    if any(s.id not in _OWN_GAP for s in unanswered(flow, answers)):
        found.append(("sans_reponse", "attention"))
    return sorted(found, key=lambda g: SEVERITY_ORDER[g[1]])


def describe_gaps(flow: Flow, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The gaps with their French explanation and suggestion, taken from ``meta.gaps``."""
    texts: Mapping[str, Mapping[str, str]] = flow.meta.get("gaps") or {}
    gaps: list[dict[str, Any]] = []
    for gap_id, severity in gap_rules(flow, answers):
        text = texts.get(gap_id) or {}
        gap: dict[str, Any] = {
            "id": gap_id,
            "severity": severity,
            "title": str(text.get("title") or gap_id),
            "explanation": str(text.get("explanation") or ""),
            "suggestion": str(text.get("suggestion") or ""),
            "source": str(text.get("source") or ""),
            "questions": [],
        }
        if gap_id == "sans_reponse":
            gap["questions"] = [
                str(s.meta.get("label") or s.ask)
                for s in unanswered(flow, answers)
                if s.id not in _OWN_GAP
            ]
        gaps.append(gap)
    return gaps


def summarise_cadrage(data: SummaryInput) -> CadrageSummary:
    """Restitution by section, the level aimed at, and the gaps of the framing."""
    flow, answers = data.flow, data.answers
    level = _level(answers)
    niveau_step = flow.step("niveau")
    gaps = describe_gaps(flow, answers)
    sections = restitution(flow, answers, data.comments)
    asked = sum(len(s["items"]) for s in sections)
    answered = sum(1 for s in sections for i in s["items"] if i["answer"] is not None)
    levels_meta: Mapping[str, Any] = flow.meta.get("niveaux") or {}
    return {
        "includes_answers": True,
        "title": flow.title,
        "projet": answers.get("projet"),
        "porteur": answers.get("porteur"),
        "niveau": None
        if level is None or niveau_step is None
        else {
            "value": LEVELS[level],
            "label": display_value(niveau_step, LEVELS[level], scale_number=False),
            "rank": level + 1,
            "of": len(LEVELS),
            "arnstein": str((levels_meta.get(LEVELS[level]) or {}).get("arnstein") or ""),
        },
        "reglementaire": regulatory(flow, answers),
        "sections": sections,
        "gaps": gaps,
        "counts": {
            "asked": asked,
            "answered": answered,
            "gaps": len(gaps),
            "important": sum(1 for g in gaps if g["severity"] == "important"),
        },
    }
