"""A database made by an earlier version is brought up to date at start, data kept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import inspect, text

from bot.config import Settings
from bot.core import Assistant
from bot.messages import Incoming
from storage.migrate import MIGRATIONS_DIR
from storage.models import Base


def _alembic(url: str, target: str, move: Callable[[Config, str], None] = command.upgrade,
             ) -> None:
    """Run Alembic as an older Coopbot would have, on a plain SQLite connection."""
    engine = create_sync_engine(url)
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        move(config, target)
    engine.dispose()


def _downgrade(url: str, target: str) -> None:
    _alembic(url, target, command.downgrade)


async def test_a_database_of_the_first_version_is_upgraded_and_its_conversations_go_on(
    sqlite_url: str,
) -> None:
    await asyncio.to_thread(_alembic, sqlite_url, "0001")
    bot = await Assistant.create(Settings(database_url=sqlite_url, secret="s"))
    try:
        key = bot.user_key("telegram", "5")
        for number, text in enumerate(("/facteurs", "1"), start=1):
            replies = await bot.handle(Incoming("telegram", key, "5", text=text,
                                                message_id=f"m{number}"))
        assert "(2/" in replies[-1].text
    finally:
        await bot.close()

    def differences() -> list[object]:
        engine = create_sync_engine(sqlite_url)
        with engine.connect() as conn:
            found = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        engine.dispose()
        return found

    assert await asyncio.to_thread(differences) == []  # the models are the migrated schema


async def test_the_territory_column_comes_and_goes_without_touching_people(
    sqlite_url: str,
) -> None:
    """0004_user_region: a nullable column up, dropped down; the person's row stays."""
    def columns() -> set[str]:
        engine = create_sync_engine(sqlite_url)
        with engine.connect() as conn:
            found = {c["name"] for c in inspect(conn).get_columns("users")}
        engine.dispose()
        return found

    def run(sql: str, **params: object) -> list[tuple[object, ...]]:
        engine = create_sync_engine(sqlite_url)
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            rows = [tuple(r) for r in result] if result.returns_rows else []
        engine.dispose()
        return rows

    await asyncio.to_thread(_alembic, sqlite_url, "0003")
    assert "territory" not in await asyncio.to_thread(columns)
    await asyncio.to_thread(run, "INSERT INTO users (key, created_at, last_seen_at, state) "
                            "VALUES ('k', '2026-12-01', '2026-12-01', '{}')")
    await asyncio.to_thread(_alembic, sqlite_url, "0004_user_region")
    assert "territory" in await asyncio.to_thread(columns)
    assert await asyncio.to_thread(run, "SELECT key, territory FROM users") == [("k", None)]
    await asyncio.to_thread(run, "UPDATE users SET territory = '35'")
    await asyncio.to_thread(_downgrade, sqlite_url, "0003")
    assert "territory" not in await asyncio.to_thread(columns)
    assert await asyncio.to_thread(run, "SELECT key FROM users") == [("k",)]
    await asyncio.to_thread(_alembic, sqlite_url, "head")
    assert await asyncio.to_thread(run, "SELECT key, territory FROM users") == [("k", None)]


async def test_the_outbox_migration_goes_down_and_up_again(sqlite_url: str) -> None:
    import sqlite3

    await asyncio.to_thread(_alembic, sqlite_url, "head")
    path = sqlite_url.removeprefix("sqlite:///")

    def tables() -> set[str]:
        with sqlite3.connect(path) as db:
            return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    assert {"outbox", "chat_addresses"} <= tables()
    await asyncio.to_thread(_downgrade, sqlite_url, "0003")
    assert not {"outbox", "chat_addresses"} & tables()
    await asyncio.to_thread(_alembic, sqlite_url, "head")
    assert {"outbox", "chat_addresses"} <= tables()
