"""``coopbot matrix setup`` and ``coopbot matrix recovery-key`` (see docs/matrix.md)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any


def add_commands(sub: Any) -> None:
    matrix = sub.add_parser("matrix", help="Matrix : signature croisée et clé de récupération")
    matrix_sub = matrix.add_subparsers(dest="matrix_command", metavar="SOUS-COMMANDE")
    p = matrix_sub.add_parser(
        "setup", help="signer l'appareil du bot (demande le mot de passe du compte si besoin)")
    p.set_defaults(func=cmd_setup)
    p.add_argument("--db", metavar="URL", help="base de données ; par défaut COOPBOT_DATABASE_URL")
    p = matrix_sub.add_parser(
        "recovery-key", help="afficher la clé de récupération de l'identité du bot")
    p.set_defaults(func=cmd_recovery_key)
    p.add_argument("--db", metavar="URL", help="base de données ; par défaut COOPBOT_DATABASE_URL")


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from bot.config import Settings

    settings = Settings.from_env(database_url=getattr(args, "db", None))
    if not settings.matrix_homeserver or not settings.matrix_user:
        print("Définissez COOPBOT_MATRIX_HOMESERVER et COOPBOT_MATRIX_USER, puis relancez.",
              file=sys.stderr)
        return None
    return settings


def cmd_setup(args: argparse.Namespace) -> int:
    import logging

    from bot.channels.matrix.admin import setup
    from bot.channels.matrix.base import MatrixLoginError
    from bot.core import Assistant

    settings = _settings(args)
    if settings is None:
        return 1
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    password = settings.matrix_password
    if not password:
        password = getpass.getpass(f"Mot de passe du compte {settings.matrix_user} : ") or None

    async def main() -> bool:
        assistant = await Assistant.create(settings)
        try:
            return await setup(settings, assistant.storage, password)
        finally:
            await assistant.close()

    try:
        signed = asyncio.run(main())
    except MatrixLoginError as exc:
        print(f"Échec : {exc}", file=sys.stderr)
        return 1
    if not signed:
        print("L'appareil du bot n'est pas signé : voyez les messages ci-dessus.", file=sys.stderr)
        return 1
    print("L'appareil du bot est signé par son identité. Gardez une copie de la clé de "
          "récupération : coopbot matrix recovery-key", file=sys.stderr)
    return 0


def cmd_recovery_key(args: argparse.Namespace) -> int:
    from bot.channels.matrix.admin import stored_recovery_key
    from bot.core import Assistant

    settings = _settings(args)
    if settings is None:
        return 1

    async def main() -> str | None:
        assistant = await Assistant.create(settings)
        try:
            return await stored_recovery_key(settings, assistant.storage)
        finally:
            await assistant.close()

    try:
        key = asyncio.run(main())
    except ValueError:
        print("La clé enregistrée ne s'ouvre pas avec ce COOPBOT_SECRET.", file=sys.stderr)
        return 1
    if key is None:
        print("Aucune clé de récupération enregistrée : lancez d'abord « coopbot run » ou "
              "« coopbot matrix setup ».", file=sys.stderr)
        return 1
    print(key)
    return 0
