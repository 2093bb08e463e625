"""``coopbot matrix setup`` and ``coopbot matrix recovery-key`` (see docs/matrix.md)."""

from __future__ import annotations

import argparse
import getpass
import logging
from typing import Any

from bot.cli_common import DB_HELP, fail, run, say, settings_from_args
from bot.config import Settings


def add_commands(sub: Any) -> None:
    matrix = sub.add_parser("matrix", help="Matrix : signature croisée et clé de récupération")
    matrix_sub = matrix.add_subparsers(dest="matrix_command", metavar="SOUS-COMMANDE")
    p = matrix_sub.add_parser(
        "setup", help="signer l'appareil du bot (demande le mot de passe du compte si besoin)")
    p.set_defaults(func=cmd_setup)
    p.add_argument("--db", metavar="URL", help=DB_HELP)
    p = matrix_sub.add_parser(
        "recovery-key", help="afficher la clé de récupération de l'identité du bot")
    p.set_defaults(func=cmd_recovery_key)
    p.add_argument("--db", metavar="URL", help=DB_HELP)


def _settings(args: argparse.Namespace) -> Settings | None:
    settings = settings_from_args(args)
    if not settings.matrix_homeserver or not settings.matrix_user:
        return None
    return settings


def cmd_setup(args: argparse.Namespace) -> int:
    from bot.channels.matrix.admin import setup
    from bot.channels.matrix.base import MatrixLoginError
    from storage.sql.store import open_storage

    settings = _settings(args)
    if settings is None:
        return fail(say("cli.matrix_not_configured"))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    password = settings.matrix_password or getpass.getpass(
        say("cli.matrix_password", user=settings.matrix_user)) or None

    async def main() -> int:
        storage = await open_storage(settings.database_url)
        try:
            signed = await setup(settings, storage, password)
        except MatrixLoginError as exc:
            return fail(say("cli.matrix_failed", error=exc))
        finally:
            await storage.close()
        if not signed:
            return fail(say("cli.matrix_unsigned"))
        print(say("cli.matrix_signed"))
        return 0

    return run(main)


def cmd_recovery_key(args: argparse.Namespace) -> int:
    from bot.channels.matrix.admin import stored_recovery_key
    from storage.sql.store import open_storage

    settings = _settings(args)
    if settings is None:
        return fail(say("cli.matrix_not_configured"))

    async def main() -> int:
        storage = await open_storage(settings.database_url)
        try:
            key = await stored_recovery_key(settings, storage)
        except ValueError:
            return fail(say("cli.matrix_wrong_secret"))
        finally:
            await storage.close()
        if key is None:
            return fail(say("cli.matrix_no_key"))
        print(key)
        return 0

    return run(main)
