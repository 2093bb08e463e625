"""The ``coopbot`` command. Its forms are a contract (see DESIGN.md): keep them stable.

Every subcommand imports what it needs only when it runs, so that ``coopbot ask``
does not pay for SQLAlchemy, matplotlib or the chat libraries.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from bot import cli_kb, cli_matrix, cli_workshop
from bot.cli_common import (
    DB_HELP,
    EXIT_USAGE,
    fail,
    run,
    say,
    settings_from_args,
    setup_logging,
    write_document,
)
from flows.yamlsource import ContentError


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.channels.console import chat
    from bot.core import Assistant

    settings = settings_from_args(args)
    setup_logging("WARNING")

    async def main() -> int:
        assistant = await Assistant.create(settings)
        try:
            await chat(assistant, args.user)
        finally:
            await assistant.close()
        return 0

    try:
        return run(main)
    except KeyboardInterrupt:
        print("\n" + say("cli.chat_bye"), file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bot.identity import console_key
    from flows.registry import load_flows
    from storage.reports.exports import build_export
    from storage.sql.store import open_storage

    settings = settings_from_args(args)
    user_key = console_key(args.user)

    async def main() -> int:
        storage = await open_storage(settings.database_url)
        try:
            if not await storage.user_exists(user_key):
                return fail(say("cli.export_no_user", user=args.user))
            records = await storage.user_sessions(user_key, args.flow)
        finally:
            await storage.close()
        document = build_export(records, load_flows(), args.format, user=args.user)
        write_document(document.content, args.output, "cli.export_written")
        return 0

    return run(main)


def cmd_check(args: argparse.Namespace) -> int:
    from bot.check import run_checks

    return run_checks(verbose=args.verbose)


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio

    from bot.runner import NothingToServe, serve_channels

    settings = settings_from_args(args)
    setup_logging(settings.log_level)
    try:
        asyncio.run(serve_channels(settings))
    except NothingToServe:
        return fail(say("cli.nothing_to_serve"))
    except KeyboardInterrupt:
        pass
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coopbot",
        description="Coopbot : assistant de coopération entre collectivités et acteurs de l'ESS.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMANDE")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str,
            db: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        if db:
            p.add_argument("--db", metavar="URL", help=DB_HELP)
        return p

    p = add("chat", cmd_chat, "converser dans le terminal (une ligne = un message)")
    p.add_argument("--user", default="moi", help="votre nom d'utilisateur (par défaut : moi)")

    p = add("ask", cli_kb.cmd_ask, "répondre à une question depuis la base de connaissances",
            db=False)
    cli_kb.add_ask_arguments(p)

    p = add("export", cmd_export, "exporter les sessions et synthèses d'un utilisateur")
    p.add_argument("--user", required=True)
    p.add_argument("--flow", metavar="ID", help="seulement ce parcours")
    p.add_argument("--format", required=True, choices=["md", "html", "csv", "json"])
    p.add_argument("-o", "--output", metavar="FICHIER")

    p = add("check", cmd_check, "valider parcours, base de connaissances et gabarits", db=False)
    p.add_argument("-v", "--verbose", action="store_true")

    add("run", cmd_run, "servir les canaux configurés (Telegram, Matrix)")

    kb = sub.add_parser("kb", help="base de connaissances : questions sans réponse")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="SOUS-COMMANDE")
    gaps = kb_sub.add_parser("gaps", help="questions sans réponse et réponses jugées inutiles")
    gaps.set_defaults(func=cli_kb.cmd_gaps)
    cli_kb.add_gaps_arguments(gaps)

    cli_workshop.add_commands(sub)  # workshop create|summary|…, purge
    cli_matrix.add_commands(sub)  # matrix setup|recovery-key
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return func(args)
    except ContentError as exc:
        return fail(say("cli.content_error", error=exc))


if __name__ == "__main__":
    sys.exit(main())
