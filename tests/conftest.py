"""Test harness.

The database is built once per run with the real migrations (``alembic upgrade heads``): a SQLite file
by default, PostgreSQL when ``IHOS_TEST_DATABASE_URL`` is set (a fresh database named after it is
created and dropped). Each test runs inside an outer transaction that is rolled back at the end; the
code under test commits to a savepoint, so commits, rollbacks and after-commit hooks behave as in
production while nothing leaks between tests.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="ihos-test-"))
TEST_DATABASE_URL = os.environ.get("IHOS_TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{_TMP / 'test.db'}"
os.environ["IHOS_DATABASE_URL"] = TEST_DATABASE_URL
os.environ.setdefault("IHOS_KEY_FILE", str(_TMP / "keys.json"))
os.environ["IHOS_FILES__LOCAL_DIR"] = str(_TMP / "files")
os.environ["IHOS_RUN_JOBS_IN_APP"] = "false"
os.environ["IHOS_REDIS_URL"] = ""
os.environ.setdefault("IHOS_DEMO", "false")

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession  # noqa: E402

from ihos.db import create_engine  # noqa: E402
from ihos.kit.time import clock  # noqa: E402
from ihos.migrations import upgrade  # noqa: E402

IS_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")


async def _recreate_postgres_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(
        target.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    await admin.dispose()


@pytest.fixture(scope="session")
async def engine() -> AsyncIterator[AsyncEngine]:
    if IS_POSTGRES:
        await _recreate_postgres_database(TEST_DATABASE_URL)
    engine = create_engine(TEST_DATABASE_URL)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with engine.connect() as connection:
        outer = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def app(session: AsyncSession):  # type: ignore[no-untyped-def]
    from ihos.app import create_app

    application = create_app()
    application.state.session_override = session
    return application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
