"""Bring the schema to the newest Alembic revision; run at every start.

The usual case — the database is already at the head — is checked with one query
against revisions read from the migration files, without importing Alembic (a
quarter of a second of ``coopbot chat``'s start-up). Otherwise Alembic upgrades,
on the job's connection, inside the same kind of transaction as everything else.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage.database import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_REVISION = re.compile(r"^revision\b[^=]*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\b[^=]*=\s*(.+)$", re.MULTILINE)


async def migrate(database: Database) -> None:
    heads = script_heads()
    await database.run(lambda connection: upgrade(connection, heads))


def upgrade(connection: Connection, heads: set[str] | None = None) -> None:
    if heads and current_revisions(connection) == heads:
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def current_revisions(connection: Connection) -> set[str]:
    if not inspect(connection).has_table("alembic_version"):
        return set()
    found = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
    return {row[0] for row in found}


def script_heads() -> set[str]:
    """Head revisions of ``migrations/versions`` (revisions no other one builds on).

    Empty when a file cannot be read this simply: Alembic then decides.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN.search(text)
        if revision is None or down is None:
            return set()
        revisions.add(revision.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return revisions - parents
