"""Summary of /statut: the legal forms that fit, why, and whom to contact.

The decision is :func:`knowledge.advisor.recommend`; this module adds what the
knowledge base says about each form (title, short answer, its name with an article for a
sentence), the entries on the legal frame the answers call for (marché public and
délégation de service public for a public service, the capital rules when a collectivité
must be a member) and the « qui contacter » entries (URSCOP for a SCOP or SCIC, the CRESS,
the DLA…), so that the chat summary and the exports can show them without loading the
base again. It lives here, not
with the other summaries in ``flows``, because it needs the knowledge base: the
assistant hands it the one it loaded (:func:`statut_summariser`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flows.summaries.base import SummaryInput
from flows.summaries.shapes import StatutSummary
from knowledge.advisor import contacts_for, frames_for, name_in_sentence, recommend
from knowledge.base import KnowledgeBase
from knowledge.glossary import spell_out


def _card(kb: KnowledgeBase, entry_id: str) -> dict[str, Any] | None:
    entry = kb.get(entry_id)
    if entry is None:
        return None
    return {
        "id": entry.id,
        "title": entry.title,
        "short": entry.label,
        "ask": name_in_sentence(entry.id) or entry.label,
        "answer": spell_out(entry.answer),
        "links": [{"title": link.title, "url": link.url} for link in entry.links],
    }


def summarise_statut(data: SummaryInput, kb: KnowledgeBase) -> StatutSummary:
    forms: list[dict[str, Any]] = []
    for rec in recommend(data.answers):
        card = _card(kb, rec.form_id)
        if card is not None:
            forms.append({**card, "why": rec.why})
    contacts = [
        card
        for card in (_card(kb, entry_id) for entry_id in contacts_for([f["id"] for f in forms]))
        if card is not None
    ]
    frames = [
        card for card in (_card(kb, entry_id) for entry_id in frames_for(data.answers))
        if card is not None
    ]
    return {"title": data.flow.title, "forms": forms, "frames": frames, "contacts": contacts}


def statut_summariser(kb: KnowledgeBase) -> Callable[[SummaryInput], StatutSummary]:
    """The ``statut`` summariser, bound to the knowledge base it reads."""
    return lambda data: summarise_statut(data, kb)
