"""``coopbot workshop create|summary|cofacilitator|close`` and ``coopbot purge``.

The console NAME maps to the user key ``console:NAME``, the same key as
``coopbot chat --user NAME``: a workshop created here can be read in the chat
with ``/synthese`` and the other way round. A refused summary prints one message
on stderr, the same whether the code exists or not, and exits with status 3.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.cli_common import DB_HELP, fail, run, say, settings_from_args, write_document
from bot.identity import console_key
from bot.invite import InviteLink, settings_link
from bot.markup import to_plain
from bot.texts import texts

EXIT_REFUSED = 3


def cmd_create(args: argparse.Namespace) -> int:
    from bot.workshop_create import created_messages
    from flows.registry import load_flows
    from storage.sql.store import open_storage
    from storage.workshop_codes import display_code

    flows = load_flows()
    if args.flow not in flows:
        return fail(say("cli.unknown_flow", flow=args.flow, flows=", ".join(sorted(flows))), 2)
    title = " ".join(args.title.split())
    if not title:
        return fail(say("cli.no_title"), 2)
    closes = None
    if args.closes:
        try:
            closes = datetime.fromisoformat(args.closes).replace(tzinfo=UTC)
        except ValueError:
            return fail(say("cli.bad_date"), 2)
    facilitator = console_key(args.facilitator)
    settings = settings_from_args(args)

    async def main() -> int:
        storage = await open_storage(settings.database_url)
        try:
            workshop = await storage.workshops(
                lambda store: store.create(title, args.flow, facilitator, closes))
        finally:
            await storage.close()
        code = display_code(workshop.code)
        link = settings_link(settings, code)
        qr = _write_qr(link, args.output) if args.json or args.output else None
        if args.json:
            print(json.dumps({"code": code, "link": link.url if link else None, "qr_png": qr}))
            return 0
        for message in created_messages(texts(), title, code, args.flow, link):
            print(to_plain(message.text) + "\n")
        if link is None:
            print(say("cli.no_link"), file=sys.stderr)
        elif args.output is None:
            print(say("cli.qr_hint"), file=sys.stderr)
        return 0

    return run(main)


def _write_qr(link: InviteLink | None, output: str | None) -> str | None:
    """The QR code of ``link``: written to ``output`` (its path returned, said on stderr),
    else as base64; None without a link."""
    from storage.reports.qr import qr_png

    if link is None:
        return None
    png = qr_png(link.url)
    if output is None:
        return base64.b64encode(png).decode("ascii")
    Path(output).write_bytes(png)
    print(say("cli.written_to", what=say("cli.qr_written"), path=output), file=sys.stderr)
    return output


def _refuse() -> int:
    return fail(say("workshop.synthesis.refused"), EXIT_REFUSED)


async def _on_workshop(args: argparse.Namespace, action: Callable[[Any, Any], Any]) -> (
    tuple[bool, Any]
):
    """``(allowed, action(store, workshop))`` in one transaction, for a workshop that
    ``args.facilitator`` may manage; ``(False, None)`` otherwise, code unknown or not."""
    from storage.sql.store import open_storage

    key = console_key(args.facilitator)

    def job(store: Any) -> tuple[bool, Any]:
        workshop = store.readable(args.code, key)
        if workshop is None:
            return False, None
        return True, action(store, workshop)

    storage = await open_storage(settings_from_args(args).database_url)
    try:
        return await storage.workshops(job)
    finally:
        await storage.close()


def cmd_summary(args: argparse.Namespace) -> int:
    from bot.workshop_routes import charts
    from flows.registry import load_flows
    from storage.reports.synthesis import GroupLabels, render_synthesis, workshop_synthesis

    flows = load_flows()
    scoped = texts().scoped("workshop")
    settings = settings_from_args(args)

    async def main() -> int:
        allowed, data = await _on_workshop(args, lambda store, workshop: workshop_synthesis(
            store, workshop, flows, GroupLabels.from_texts(scoped)))
        if not allowed:
            return _refuse()
        if data is None:
            return fail(say("workshop.join.unavailable"))
        drawn = charts(data, scoped) if args.format == "html" else []
        link = settings_link(settings, data.code)
        document = render_synthesis(data, args.format, scoped, drawn, link.url if link else None)
        write_document(document.content, args.output, "cli.synthesis_written")
        return 0

    return run(main)


def _report(args: argparse.Namespace, action: Callable[[Any, Any], str]) -> int:
    """Run ``action`` on a managed workshop and print the message it returns."""

    async def main() -> int:
        allowed, message = await _on_workshop(args, action)
        if not allowed:
            return _refuse()
        print(message, file=sys.stderr)
        return 0

    return run(main)


def cmd_cofacilitator(args: argparse.Namespace) -> int:
    def add(store: Any, workshop: Any) -> str:
        added = store.add_cofacilitator(workshop, console_key(args.add))
        return say("cli.cofac_added" if added else "cli.cofac_already", name=args.add)

    return _report(args, add)


def cmd_close(args: argparse.Namespace) -> int:
    def close(store: Any, workshop: Any) -> str:
        store.close(workshop)
        return say("cli.closed")

    return _report(args, close)


def cmd_purge(args: argparse.Namespace) -> int:
    from storage.sql.store import open_storage

    settings = settings_from_args(args)
    days = args.days if args.days is not None else settings.retention_days
    if days < 1:
        return fail(say("cli.days_min"), 2)

    async def main() -> int:
        storage = await open_storage(settings.database_url)
        try:
            counts = await storage.purge(days)
        finally:
            await storage.close()
        if args.json:
            print(json.dumps({"days": days, **asdict(counts)}))
        else:
            print(say("privacy.purge.done", days=days, users=counts.users,
                      workshops=counts.workshops, kb_gaps=counts.kb_gaps,
                      events=counts.processed_events, attempts=counts.wrong_code_attempts))
        return 0

    return run(main)


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    workshop = sub.add_parser("workshop", help="ateliers : créer, lire la synthèse",
                              description="Ateliers : créer, lire la synthèse, co-animer.")
    wsub = workshop.add_subparsers(dest="workshop_command", metavar="SOUS-COMMANDE")
    workshop.set_defaults(func=lambda _args: (workshop.print_help(), 2)[1])

    p = wsub.add_parser("create", help="créer un atelier et afficher son code")
    p.add_argument("--title", required=True, help="titre de l'atelier")
    p.add_argument("--facilitator", required=True, metavar="NOM",
                   help="qui anime (le même nom que « coopbot chat --user »)")
    p.add_argument("--flow", default="preatelier", metavar="ID",
                   help="questionnaire (par défaut : preatelier ; ou facteurs)")
    p.add_argument("--closes", metavar="AAAA-MM-JJ", help="date de clôture (facultatif)")
    p.add_argument("--json", action="store_true",
                   help='afficher {"code": …, "link": …, "qr_png": …}')
    p.add_argument("-o", "--output", metavar="FICHIER.png",
                   help="écrire le QR code du lien d'invitation dans ce fichier PNG")
    p.add_argument("--db", metavar="URL", help=DB_HELP)
    p.set_defaults(func=cmd_create)

    p = wsub.add_parser("summary", help="synthèse sans les noms (réservée à qui anime)")
    p.add_argument("code")
    p.add_argument("--facilitator", required=True, metavar="NOM")
    p.add_argument("--format", required=True, choices=["md", "html", "csv", "json"])
    p.add_argument("-o", "--output", metavar="FICHIER")
    p.add_argument("--db", metavar="URL", help=DB_HELP)
    p.set_defaults(func=cmd_summary)

    p = wsub.add_parser("cofacilitator", help="donner accès à la synthèse à une autre personne")
    p.add_argument("code")
    p.add_argument("--facilitator", required=True, metavar="NOM")
    p.add_argument("--add", required=True, metavar="NOM")
    p.add_argument("--db", metavar="URL", help=DB_HELP)
    p.set_defaults(func=cmd_cofacilitator)

    p = wsub.add_parser("close", help="fermer un atelier aux nouvelles réponses")
    p.add_argument("code")
    p.add_argument("--facilitator", required=True, metavar="NOM")
    p.add_argument("--db", metavar="URL", help=DB_HELP)
    p.set_defaults(func=cmd_close)

    p = sub.add_parser("purge", help="effacer les données plus anciennes que la durée de "
                       "conservation", description="Effacer les personnes inactives et les "
                       "ateliers plus anciens que --days jours (par défaut "
                       "COOPBOT_RETENTION_DAYS, 365). À lancer chaque jour par cron.")
    p.add_argument("--days", type=int, metavar="N")
    p.add_argument("--json", action="store_true")
    p.add_argument("--db", metavar="URL", help=DB_HELP)
    p.set_defaults(func=cmd_purge)
