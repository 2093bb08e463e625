"""The ``coopbot`` command. Its forms are a contract (see DESIGN.md): keep them stable.

Every subcommand imports what it needs only when it runs, so that ``coopbot ask``
does not pay for SQLAlchemy, matplotlib or the chat libraries.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

EXIT_USAGE = 2


def settings_from_args(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from bot.config import Settings

    return Settings.from_env(database_url=getattr(args, "db", None))


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "aiosqlite", "apscheduler", "nio.responses", "nio.rooms"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def write_document(content: bytes, output: str | None, written: str) -> None:
    """To ``-o FILE`` (saying ``written`` « dans FILE » on stderr), or to stdout for a pipe."""
    if output:
        Path(output).write_bytes(content)
        print(f"{written} dans {output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()


def _fail(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code


def cmd_chat(args: argparse.Namespace) -> int:
    import asyncio

    from bot.channels.console import chat
    from bot.core import Assistant
    from storage.db import DatabaseUrlError

    settings = settings_from_args(args)
    _setup_logging("WARNING")

    async def main() -> None:
        assistant = await Assistant.create(settings)
        try:
            await chat(assistant, args.user)
        finally:
            await assistant.close()

    try:
        asyncio.run(main())
    except DatabaseUrlError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("\nÀ bientôt ! Vos réponses sont enregistrées.", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import asyncio

    from bot.identity import console_key
    from flows.registry import load_flows
    from storage.db import DatabaseUrlError
    from storage.exports import build_export
    from storage.repository import open_storage

    settings = settings_from_args(args)
    user_key = console_key(args.user)

    async def main() -> int:
        storage = await open_storage(settings.database_url)
        try:
            if not await storage.user_exists(user_key):
                return _fail(
                    f"Aucune donnée pour l'utilisateur « {args.user} » dans cette base. "
                    "Vérifiez --user (le nom donné à « coopbot chat --user ») et --db."
                )
            records = await storage.user_sessions(user_key, args.flow)
        finally:
            await storage.close()
        document = build_export(records, load_flows(), args.format, user=args.user)
        write_document(document.content, args.output, "Export écrit")
        return 0

    try:
        return asyncio.run(main())
    except DatabaseUrlError as exc:
        return _fail(str(exc))


def cmd_check(args: argparse.Namespace) -> int:
    from bot.check import run_checks

    return run_checks(verbose=args.verbose)


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio

    from bot.runner import NothingToServe, run

    settings = settings_from_args(args)
    _setup_logging(settings.log_level)
    try:
        asyncio.run(run(settings))
    except NothingToServe:
        return _fail(
            "Aucun canal configuré. Définissez COOPBOT_TELEGRAM_TOKEN (Telegram) ou "
            "COOPBOT_MATRIX_HOMESERVER, COOPBOT_MATRIX_USER et COOPBOT_MATRIX_PASSWORD "
            "(Matrix), puis relancez « coopbot run ». Pour essayer sans compte : coopbot chat."
        )
    except KeyboardInterrupt:
        pass
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from knowledge.cli import run_ask

    return run_ask(args)


def cmd_kb_gaps(args: argparse.Namespace) -> int:
    from knowledge.cli import run_gaps

    return run_gaps(args)


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
            p.add_argument("--db", metavar="URL", help="base de données (sqlite:///… ou "
                           "postgresql://…) ; par défaut COOPBOT_DATABASE_URL")
        return p

    p = add("chat", cmd_chat, "converser dans le terminal (une ligne = un message)")
    p.add_argument("--user", default="moi", help="votre nom d'utilisateur (par défaut : moi)")

    p = add("ask", cmd_ask, "répondre à une question depuis la base de connaissances",
            db=False)
    from knowledge.cli import add_ask_arguments, add_gaps_arguments

    add_ask_arguments(p)

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
    gaps.set_defaults(func=cmd_kb_gaps)
    add_gaps_arguments(gaps)

    from bot.cli_workshop import add_commands

    add_commands(sub)  # workshop create|summary|…, purge
    from bot.cli_matrix import add_commands as add_matrix_commands

    add_matrix_commands(sub)  # matrix setup|recovery-key
    return parser


def main(argv: list[str] | None = None) -> int:
    from flows.yamlsource import ContentError

    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return func(args)
    except ContentError as exc:
        return _fail(
            f"Contenu invalide : {exc}\nCorrigez le fichier puis lancez « coopbot check »."
        )


if __name__ == "__main__":
    sys.exit(main())
