"""The menu: the flows first, in the order people most need them, then the rest."""

from __future__ import annotations

from bot.content import Content
from flows.model import Flow

FLOW_ORDER = ("facteurs", "cadrage", "relation", "charte", "statut")
OTHER_COMMANDS = ("atelier", "rejoindre", "synthese", "etat", "relancer", "cloture",
                  "export", "region", "mesdonnees", "silence", "oublier", "aide")


def menu_flows(content: Content) -> list[Flow]:
    listed = [f for f in content.flows.values() if not f.meta.get("hidden")]
    return sorted(listed, key=lambda f: (
        FLOW_ORDER.index(f.id) if f.id in FLOW_ORDER else len(FLOW_ORDER), f.id))


def flow_entries(content: Content) -> list[tuple[str, str]]:
    return [(f.command, f.description or f.title) for f in menu_flows(content)]


def other_entries(content: Content) -> list[tuple[str, str]]:
    return [(c, content.texts(f"menu.{c}")) for c in OTHER_COMMANDS]


def platform_commands(content: Content) -> list[tuple[str, str]]:
    """(command, French description) for platform menus, most useful first."""
    return [("start", content.texts("menu.start")), *flow_entries(content),
            *other_entries(content)]


def menu_text(content: Content, complete: bool = False) -> str:
    """The flows (welcome), or every command but /aide itself (help)."""
    entries = flow_entries(content) + (other_entries(content) if complete else [])
    return "\n".join(content.texts("menu_line", command=c, description=d)
                     for c, d in entries if c != "aide")
