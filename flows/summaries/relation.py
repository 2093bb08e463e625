"""Diagnostic of a collectivité – ESS relation on the gradient of the Biovallée synthesis.

The user places the relation themselves (distante → prestation → quasi-délégation →
partenariat → coopération); a few answers then add nuances where they do not match the
synthesis' description of that type. The next step, what it takes, and the obstacles
(with the synthesis' levers) come from ``flows/definitions/relation.yaml``. Which
obstacles to watch at each step is Coopbot's reading of the synthesis, and the note says so.
Where the relation is about to become, or already is, a mission the collectivité entrusts
(prestation → quasi-délégation), the note adds its legal frame (marché or DSP with
competition, SIEG mandate, subvention only for the actor's own project) and names the
knowledge entries to read (``meta.legal``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.summaries.base import SummaryInput
from flows.summaries.cadrage import restitution
from flows.summaries.shapes import RelationSummary
from flows.views import french_list

_CLOSE = ("partenariat", "cooperation")


def nuance_ids(answers: Mapping[str, Any]) -> list[str]:
    """Answers that do not fit the chosen type, as described by the synthesis."""
    position = answers.get("position")
    found: list[str] = []
    if position == "distante" and answers.get("consultation") in ("parfois", "souvent"):
        found.append("distante_consultation")
    if position == "prestation" and answers.get("consultation") == "jamais":
        found.append("prestation_consultation")
    if position in _CLOSE and answers.get("echanges") == "rares":
        found.append("echanges_rares")
    if position == "cooperation" and answers.get("desaccords") == "evites":
        found.append("desaccords_evites")
    if position in _CLOSE and answers.get("desaccords") == "tranche":
        found.append("desaccords_tranche")
    if position == "cooperation" and answers.get("contraintes") == "non":
        found.append("contraintes_non")
    if position in _CLOSE and answers.get("confiance") == "non":
        found.append("confiance_non")
    return found


def _legal(meta: Mapping[str, Any], level: Mapping[str, Any] | None) -> dict[str, Any] | None:
    key = str(level.get("legal") or "") if level else ""
    text = (meta.get("legal") or {}).get(key) if key else None
    if not text:
        return None
    entries = [
        {"id": str(e["id"]), "ask": str(e.get("ask") or e["id"])}
        for e in text.get("entries") or []
        if isinstance(e, Mapping) and e.get("id")
    ]
    return {"title": str(text.get("title") or ""), "text": str(text.get("text") or ""),
            "entries": entries,
            "asks": french_list([f"« {e['ask']} »" for e in entries], "ou")}


def _obstacle(meta: Mapping[str, Any], key: str) -> dict[str, str]:
    text = (meta.get("obstacles") or {}).get(key) or {}
    return {
        "id": key,
        "title": str(text.get("title") or key),
        "explanation": str(text.get("explanation") or ""),
        "lever": str(text.get("lever") or ""),
    }


def summarise_relation(data: SummaryInput) -> RelationSummary:
    """Position on the gradient, the next step and the obstacles to watch."""
    meta, answers = data.flow.meta, data.answers
    levels: list[Mapping[str, Any]] = list(meta.get("levels") or [])
    values = [str(level["value"]) for level in levels]
    position = answers.get("position")
    rank = values.index(position) if position in values else None
    current = levels[rank] if rank is not None else None
    nxt = levels[rank + 1] if rank is not None and rank + 1 < len(levels) else None
    selected = [v for v in answers.get("freins") or [] if v != "aucun"]
    watch = [str(k) for k in (current.get("watch") or [])] if current else []
    all_obstacles = list((meta.get("obstacles") or {}).keys())
    nuances_text: Mapping[str, str] = meta.get("nuances") or {}
    return {
        "includes_answers": True,
        "title": data.flow.title,
        "role": answers.get("role"),
        "sujet": answers.get("sujet"),
        "position": None
        if current is None
        else {
            "value": str(current["value"]),
            "label": str(current["label"]),
            "rank": rank + 1,
            "of": len(levels),
            "description": str(current.get("description") or ""),
        },
        "gradient": [str(level["label"]) for level in levels],
        "nuances": [str(nuances_text.get(n) or n) for n in nuance_ids(answers)],
        "next": None
        if nxt is None or current is None
        else {
            "label": str(nxt["label"]),
            "description": str(nxt.get("description") or ""),
            "takes": str(current.get("takes") or ""),
        },
        "top": current is not None and nxt is None,
        "keep": str(current.get("takes") or "") if current is not None and nxt is None else "",
        "souhait": answers.get("souhait"),
        "legal": _legal(meta, current),
        "obstacles_selected": [_obstacle(meta, k) for k in selected],
        "obstacles_watch": [_obstacle(meta, k) for k in watch if k not in selected],
        "obstacles_other": [
            _obstacle(meta, k) for k in all_obstacles if k not in selected and k not in watch
        ],
        "frein_detail": answers.get("frein_detail"),
        "sections": restitution(data.flow, answers, data.comments),
    }
