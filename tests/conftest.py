"""Shared fixtures: a database on each backend, and an assistant on top of it.

``database_url`` is parametrised over SQLite and PostgreSQL. The PostgreSQL case
runs when ``COOPBOT_TEST_DATABASE_URL`` is set (CI sets it); elsewhere it is
skipped with the reason, except under ``CI=true`` where a missing URL fails, since
CI must prove both backends.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.core import Assistant
from bot.testing import ConsoleUser

pytest_plugins = ["tests.synapse_fixture", "tests.e2ee_fixture"]

PG_ENV = "COOPBOT_TEST_DATABASE_URL"


def _pg_admin_url() -> str | None:
    return os.environ.get(PG_ENV) or None


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A private PostgreSQL database for this test run (parallel runs do not collide)."""
    base = _pg_admin_url()
    if base is None:
        yield None
        return
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"coopbot_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(
            host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
            password=url.password, database=url.database or "postgres",
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    _run_apart(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        _run_apart(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def pg_connect(url: str) -> Any:
    """A plain asyncpg connection to the database of a ``postgresql://`` URL."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
        user=parsed.username or "postgres", password=parsed.password,
        database=parsed.database,
    )


def _reset_pg(url: str) -> None:
    async def reset() -> None:
        conn = await pg_connect(url)
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()

    _run_apart(reset())


def _run_apart(work: Any) -> None:
    """Run a coroutine to the end in a thread of its own: a fixture asked for from
    inside a test's event loop cannot call ``asyncio.run`` there."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, work).result()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'coopbot.db'}"
    return request.getfixturevalue("database_url_postgresql")


@pytest.fixture
def database_url_postgresql(pg_database: str | None) -> str:
    """The test run's PostgreSQL database, emptied; a skip (a failure in CI) without one."""
    if pg_database is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} must be set in CI: PostgreSQL parity is required there.")
        pytest.skip(f"PostgreSQL: set {PG_ENV}=postgresql://postgres@127.0.0.1/test to run")
    _reset_pg(pg_database)
    return pg_database


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'coopbot.db'}"


@pytest.fixture
async def assistant(database_url: str) -> AsyncIterator[Assistant]:
    bot = await Assistant.create(Settings(database_url=database_url, secret="test-secret"))
    try:
        yield bot
    finally:
        await bot.close()


async def run_sql(assistant: Assistant, job: Any) -> Any:
    """Read or change the database under an assistant directly (test set-up, checks)."""
    return await assistant.storage.database.run(job)  # type: ignore[attr-defined]


@pytest.fixture
def alice(assistant: Assistant) -> ConsoleUser:
    return ConsoleUser(assistant, "alice")
