"""Everything the assistant reads but never changes, loaded once at start.

Passed down to every handler (through the :class:`~bot.turn.Turn`) instead of being
looked up in module globals: a test builds its own, and nothing is loaded twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.texts import texts
from flows.catalogue import Texts
from flows.model import Flow
from flows.registry import load_flows
from flows.summaries import SUMMARISERS
from flows.summaries.base import Summariser, SummaryInput
from knowledge.base import KnowledgeBase, load_knowledge
from knowledge.places import Places
from knowledge.statut_summary import statut_summariser
from knowledge.territories import load_territories


@dataclass(frozen=True)
class Content:
    flows: Mapping[str, Flow]
    texts: Texts
    knowledge: KnowledgeBase | None
    summarisers: Mapping[str, Summariser]
    """Summary name (a flow's ``summary:``) → the function that computes it."""
    retention_days: int = 365
    places: Places | None = None
    """The regional directory and its lookup (``/region``, regional contacts)."""
    flow_commands: Mapping[str, Flow] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        commands = {flow.command: flow for flow in self.flows.values()}
        object.__setattr__(self, "flow_commands", commands)

    def summarise(self, flow: Flow, answers: Mapping[str, Any],
                  comments: Mapping[str, str]) -> dict[str, Any]:
        """The flow's summary, or ``{}`` when its flow names none."""
        func = self.summarisers.get(flow.summary)
        return dict(func(SummaryInput(flow, answers, comments))) if func else {}


def load_content(retention_days: int = 365, knowledge: KnowledgeBase | None = None) -> Content:
    """Flows, catalogue, knowledge base, regional directory and summaries, each read and
    validated once."""
    kb = knowledge if knowledge is not None else load_knowledge()
    return Content(flows=load_flows(), texts=texts(), knowledge=kb,
                   summarisers=summarisers(kb), retention_days=retention_days,
                   places=Places(load_territories()))


def summarisers(kb: KnowledgeBase | None) -> dict[str, Summariser]:
    """Every summary by name; /statut's needs the knowledge base (none without it)."""
    found: dict[str, Summariser] = dict(SUMMARISERS)
    if kb is not None:
        found["statut"] = statut_summariser(kb)
    return found
