"""``INSERT … ON CONFLICT`` of the connection's dialect: the one thing SQLite and
PostgreSQL spell the same way but that SQLAlchemy builds per dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite


def insert(dialect: str, table: Table) -> Any:
    """An insert construct with ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    if dialect == "postgresql":
        # Imported here: the PostgreSQL dialect costs a tenth of a second of start-up
        # to a SQLite-only ``coopbot chat``.
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    return sqlite.insert(table)
