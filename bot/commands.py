"""The command table and the pending-question table: routes as data.

Every chat command but the flows' own (``/facteurs``, ``/cadrage``…, taken from
the flow files) is listed here, with the French name people type and the
English aliases that are accepted but never shown.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot import outbox_routes, privacy, region, routes, workshop_create, workshop_routes
from bot.messages import Outgoing
from bot.turn import Confirmation, Handler, Turn


def start(turn: Turn, args: str) -> list[Outgoing]:
    """``/start``: the welcome; ``/start PAYLOAD`` (a Telegram invitation link): the
    workshop it names."""
    return workshop_routes.join_by_link(turn, args) if args else routes.start(turn, args)


COMMANDS: Mapping[str, Handler] = {
    "start": start,
    "aide": routes.help_,
    "retour": routes.navigate("back", "commands.nothing_to_go_back"),
    "passer": routes.navigate("skip", "commands.nothing_to_skip"),
    "annuler": routes.navigate("cancel", "commands.nothing_to_cancel"),
    "export": routes.export,
    "reprendre": routes.resume,
    "atelier": workshop_create.create,
    "ateliercreer": workshop_create.flow_chosen,
    "rejoindre": workshop_routes.join,
    "synthese": workshop_routes.synthesis,
    "synthèse": workshop_routes.synthesis,
    "cofacilitateur": workshop_routes.cofacilitator,
    "etat": outbox_routes.status,
    "état": outbox_routes.status,
    "relancer": outbox_routes.remind,
    "cloture": outbox_routes.closing_date,
    "clôture": outbox_routes.closing_date,
    "silence": outbox_routes.silence,
    "mesdonnees": privacy.my_data,
    "mesdonnées": privacy.my_data,
    "oublier": privacy.forget,
    "region": region.region,
    "région": region.region,
    "departement": region.region,
    "département": region.region,
}

ALIASES: Mapping[str, str] = {
    "help": "aide",
    "back": "retour",
    "skip": "passer",
    "cancel": "annuler",
    "stop": "annuler",
    "menu": "start",
}

CONFIRMATIONS: Mapping[str, Confirmation] = {
    workshop_create.CONFIRM_TITLE: workshop_create.title_given,
    workshop_create.CONFIRM_FLOW: workshop_create.flow_typed,
    privacy.CONFIRM_FORGET: privacy.confirm_forget,
}
