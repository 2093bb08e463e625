"""Summary of /statut: the legal forms that fit, why, and whom to contact.

The decision is :func:`knowledge.advisor.recommend`; this module adds what the
knowledge base says about each form (title, short answer, its name with an article for a
sentence), the entries on the legal frame the answers call for (marché public and
délégation de service public for a public service, the capital rules when a collectivité
must be a member) and the « qui contacter » entries (URSCOP for a SCOP or SCIC, the CRESS,
the DLA…), so that the chat summary and the exports can show them without loading the
base again.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flows.summaries import SummaryInput, summariser
from knowledge.advisor import contacts_for, frames_for, name_in_sentence, recommend
from knowledge.base import KnowledgeBase, load_knowledge
from knowledge.texts import spell_out


@lru_cache(maxsize=1)
def _knowledge() -> KnowledgeBase:
    return load_knowledge()


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


@summariser("statut")
def summarise_statut(data: SummaryInput) -> dict[str, Any]:
    kb = _knowledge()
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
