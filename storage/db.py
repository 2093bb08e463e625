"""Database engine creation and automatic migrations.

A plain ``sqlite:///`` or ``postgresql://`` URL is what an operator writes; the
async driver (aiosqlite, asyncpg) is chosen here. SQLite gets WAL (readers never
wait for the writer) and ``BEGIN IMMEDIATE`` transactions, so that two processes
sharing one file serialise their read-modify-write of a conversation instead of
losing an update.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession  # re-export

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says what to write instead."""


def async_url(url: str) -> str:
    """``sqlite:///x.db`` → ``sqlite+aiosqlite:///x.db``; ``postgresql://`` → asyncpg."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise DatabaseUrlError(
            f"Adresse de base de données illisible : {url!r}. "
            "Exemples : sqlite:///coopbot.db ou postgresql://utilisateur@hôte/base"
        ) from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        if driver in ("asyncpg", "psycopg"):
            return parsed.render_as_string(hide_password=False)
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise DatabaseUrlError(
        f"Base de données « {backend} » non prise en charge : utilisez sqlite:///… ou "
        "postgresql://…"
    )


def is_sqlite(url: str) -> bool:
    return make_url(async_url(url)).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    full = async_url(url)
    if make_url(full).get_backend_name() != "sqlite":
        return create_async_engine(full, pool_size=10, max_overflow=20, pool_pre_ping=True)

    database = make_url(full).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(full, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let us emit BEGIN ourselves (the aiosqlite recipe of SQLAlchemy's docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest Alembic revision (run at every start)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


def _upgrade(sync_conn) -> None:  # type: ignore[no-untyped-def]
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = sync_conn
    heads = set(ScriptDirectory.from_config(config).get_heads())
    current = set(MigrationContext.configure(sync_conn).get_current_heads())
    if current != heads:
        command.upgrade(config, "head")
