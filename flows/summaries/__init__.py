"""Summaries: what a completed flow computes from its answers.

A summariser is a pure function named by the flow's ``summary:``. It returns a
JSON-serialisable dict that is stored with the session, shown in chat by
``storage/reports/templates/chat/<name>.j2`` and in exports by
``storage/reports/templates/export/<name>.{md,html}.j2``. Adding a summary is adding
one module and one line below. (The /statut summary needs the knowledge base, so it
lives in ``knowledge/statut_summary.py`` and the assistant adds it.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.summaries.base import Summariser, SummaryInput
from flows.summaries.cadrage import summarise_cadrage
from flows.summaries.charte import summarise_charte
from flows.summaries.facteurs import summarise_facteurs
from flows.summaries.relation import summarise_relation

SUMMARISERS: Mapping[str, Summariser] = {
    "cadrage": summarise_cadrage,
    "charte": summarise_charte,
    "facteurs": summarise_facteurs,
    "relation": summarise_relation,
}


def summarise(data: SummaryInput) -> dict[str, Any]:
    """The flow's summary, or ``{}`` when its flow names none this package knows."""
    func = SUMMARISERS.get(data.flow.summary)
    return dict(func(data)) if func else {}


__all__ = ["SUMMARISERS", "Summariser", "SummaryInput", "summarise"]
