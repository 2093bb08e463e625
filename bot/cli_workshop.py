"""``coopbot workshop create|summary|cofacilitator|close`` and ``coopbot purge``.

The console NAME maps to the user key ``console:NAME``, the same key as
``coopbot chat --user NAME``: a workshop created here can be read in the chat
with ``/synthese`` and the other way round. A refused summary prints one message
on stderr, the same whether the code exists or not, and exits with status 3.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

EXIT_REFUSED = 3


def _key(name: str) -> str:
    from bot.identity import console_key

    return console_key(name)


def _settings(args: argparse.Namespace) -> Any:
    from bot.cli import settings_from_args

    return settings_from_args(args)


def _run(main: Any) -> int:
    import asyncio

    from storage.db import DatabaseUrlError

    try:
        return asyncio.run(main())
    except DatabaseUrlError as exc:
        print(str(exc), file=sys.stderr)
        return 1


def cmd_create(args: argparse.Namespace) -> int:
    from bot.workshop_routes import created_messages
    from flows.registry import load_flows
    from storage.repository import open_storage
    from storage.workshops import create_workshop, display_code

    flows = load_flows()
    if args.flow not in flows:
        print(f"Questionnaire « {args.flow} » inconnu. Possibles : {', '.join(sorted(flows))}.",
              file=sys.stderr)
        return 2
    title = " ".join(args.title.split())
    if not title:
        print("Donnez un titre : --title \"Fresque de l'engagement local\"", file=sys.stderr)
        return 2
    closes = None
    if args.closes:
        try:
            closes = datetime.fromisoformat(args.closes).replace(tzinfo=UTC)
        except ValueError:
            print("Date de clôture illisible : écrivez-la AAAA-MM-JJ (par exemple 2026-03-12).",
                  file=sys.stderr)
            return 2

    async def main() -> int:
        storage = await open_storage(_settings(args).database_url)
        try:
            async with storage.sessions() as db, db.begin():
                workshop = await create_workshop(db, title, args.flow, _key(args.facilitator),
                                                 closes)
                code = display_code(workshop.code)
        finally:
            await storage.close()
        if args.json:
            print(json.dumps({"code": code}))
        else:
            for message in created_messages(title, code, args.flow):
                print(_plain(message.text) + "\n")
        return 0

    return _run(main)


def _plain(text: str) -> str:
    from bot.markup import to_plain

    return to_plain(text)


def _refuse() -> int:
    from bot.workshop_routes import workshop_texts

    print(_plain(workshop_texts()("synthesis.refused")), file=sys.stderr)
    return EXIT_REFUSED


def cmd_summary(args: argparse.Namespace) -> int:
    from bot.cli import write_document
    from bot.workshop_routes import charts, synthesis_data, workshop_texts
    from flows.registry import load_flows
    from storage.workshop_synthesis import render_synthesis

    async def main() -> int:
        flows = load_flows()
        allowed, data = await _on_workshop(
            args, lambda db, workshop: synthesis_data(db, workshop, flows))
        if not allowed:
            return _refuse()
        if data is None:
            print(_plain(workshop_texts()("join.unavailable")), file=sys.stderr)
            return 1
        drawn = charts(data) if args.format == "html" else []
        document = render_synthesis(data, args.format, workshop_texts(), drawn)
        write_document(document.content, args.output, "Synthèse écrite")
        return 0

    return _run(main)


async def _on_workshop(args: argparse.Namespace, action: Any) -> tuple[bool, Any]:
    """``(allowed, await action(db, workshop))`` in one transaction, for a workshop that
    ``args.facilitator`` may manage; ``(False, None)`` otherwise, code unknown or not."""
    from storage.repository import open_storage
    from storage.workshops import readable_workshop

    storage = await open_storage(_settings(args).database_url)
    try:
        async with storage.sessions() as db, db.begin():
            workshop = await readable_workshop(db, args.code, _key(args.facilitator))
            if workshop is None:
                return False, None
            return True, await action(db, workshop)
    finally:
        await storage.close()


def _report(args: argparse.Namespace, action: Any) -> int:
    """Run ``action`` on a managed workshop and print the message it returns."""

    async def main() -> int:
        allowed, message = await _on_workshop(args, action)
        if not allowed:
            return _refuse()
        print(message, file=sys.stderr)
        return 0

    return _run(main)


def cmd_cofacilitator(args: argparse.Namespace) -> int:
    from storage.workshops import add_cofacilitator

    async def add(db: Any, workshop: Any) -> str:
        if await add_cofacilitator(db, workshop, _key(args.add)):
            return f"« {args.add} » co-anime l'atelier."
        return f"« {args.add} » anime déjà cet atelier."

    return _report(args, add)


def cmd_close(args: argparse.Namespace) -> int:
    from storage.workshops import close_workshop

    async def close(db: Any, workshop: Any) -> str:
        await close_workshop(db, workshop)
        return "Atelier fermé : il n'accepte plus de nouvelles réponses."

    return _report(args, close)


def cmd_purge(args: argparse.Namespace) -> int:
    from bot.privacy import privacy_texts
    from storage.privacy import purge
    from storage.repository import open_storage

    settings = _settings(args)
    days = args.days if args.days is not None else settings.retention_days
    if days < 1:
        print("--days doit valoir au moins 1.", file=sys.stderr)
        return 2

    async def main() -> int:
        storage = await open_storage(settings.database_url)
        try:
            async with storage.sessions() as db, db.begin():
                counts = await purge(db, days)
        finally:
            await storage.close()
        if args.json:
            print(json.dumps({"days": days, **counts}))
        else:
            print(privacy_texts()("purge.done", days=days, users=counts["users"],
                                  workshops=counts["workshops"], kb_gaps=counts["kb_gaps"],
                                  events=counts["processed_events"],
                                  attempts=counts["wrong_code_attempts"]))
        return 0

    return _run(main)


def add_commands(sub: argparse._SubParsersAction) -> None:
    db_help = "base de données (sqlite:///… ou postgresql://…) ; par défaut COOPBOT_DATABASE_URL"

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
    p.add_argument("--json", action="store_true", help='afficher {"code": …}')
    p.add_argument("--db", metavar="URL", help=db_help)
    p.set_defaults(func=cmd_create)

    p = wsub.add_parser("summary", help="synthèse anonyme (réservée à qui anime)")
    p.add_argument("code")
    p.add_argument("--facilitator", required=True, metavar="NOM")
    p.add_argument("--format", required=True, choices=["md", "html", "csv", "json"])
    p.add_argument("-o", "--output", metavar="FICHIER")
    p.add_argument("--db", metavar="URL", help=db_help)
    p.set_defaults(func=cmd_summary)

    p = wsub.add_parser("cofacilitator", help="donner accès à la synthèse à une autre personne")
    p.add_argument("code")
    p.add_argument("--facilitator", required=True, metavar="NOM")
    p.add_argument("--add", required=True, metavar="NOM")
    p.add_argument("--db", metavar="URL", help=db_help)
    p.set_defaults(func=cmd_cofacilitator)

    p = wsub.add_parser("close", help="fermer un atelier aux nouvelles réponses")
    p.add_argument("code")
    p.add_argument("--facilitator", required=True, metavar="NOM")
    p.add_argument("--db", metavar="URL", help=db_help)
    p.set_defaults(func=cmd_close)

    p = sub.add_parser("purge", help="effacer les données plus anciennes que la durée de "
                       "conservation", description="Effacer les personnes inactives et les "
                       "ateliers plus anciens que --days jours (par défaut "
                       "COOPBOT_RETENTION_DAYS, 365). À lancer chaque jour par cron.")
    p.add_argument("--days", type=int, metavar="N")
    p.add_argument("--json", action="store_true")
    p.add_argument("--db", metavar="URL", help=db_help)
    p.set_defaults(func=cmd_purge)
