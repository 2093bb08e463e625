"""What every ``coopbot`` subcommand shares: settings, logging, output, errors.

Subcommands import what they need only when they run, so that ``coopbot ask`` does
not pay for SQLAlchemy, matplotlib or the chat libraries.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.config import Settings
from bot.markup import to_plain
from bot.texts import texts

EXIT_USAGE = 2
DB_HELP = "base de données (sqlite:///… ou postgresql://…) ; par défaut COOPBOT_DATABASE_URL"


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings.from_env(database_url=getattr(args, "db", None))


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "apscheduler", "nio.responses", "nio.rooms"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def say(key: str, **params: object) -> str:
    """A catalogue text for the terminal (chat markup removed)."""
    return to_plain(texts()(key, **params))


def fail(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code


def write_document(content: bytes, output: str | None, what_key: str) -> None:
    """To ``-o FILE`` (saying so on stderr), or to stdout for a pipe."""
    if output:
        Path(output).write_bytes(content)
        print(say("cli.written_to", what=say(what_key), path=output), file=sys.stderr)
    else:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()


def run(main: Callable[[], Awaitable[int]]) -> int:
    """Run an async command; a bad database URL is a message, not a traceback."""
    from storage.database import DatabaseUrlError

    try:
        return asyncio.run(main())  # type: ignore[arg-type]
    except DatabaseUrlError as exc:
        return fail(str(exc))
