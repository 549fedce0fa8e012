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
# Tests hash many passwords: a light argon2 parameter set keeps them fast (production never sets it).
os.environ.setdefault("IHOS_PASSWORD_HASH_FAST", "1")

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker  # noqa: E402

import ihos.db  # noqa: E402
from ihos.backoffice.rules import forget_cached_rules  # noqa: E402
from ihos.db import create_engine  # noqa: E402
from ihos.kit.ratelimit import reset_rate_limiter  # noqa: E402
from ihos.kit.time import clock  # noqa: E402
from ihos.migrations import upgrade  # noqa: E402
from ihos.security.keys import generate_key_file  # noqa: E402

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


@pytest.fixture(scope="session", autouse=True)
def _key_file() -> None:
    """A key file of the run's own (only embedded mode makes a missing one by itself)."""
    path = Path(os.environ["IHOS_KEY_FILE"])
    if not path.exists():
        generate_key_file(path)


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
def _reset_process_state() -> Iterator[None]:
    """Each test starts at the real time, with no rate-limit counts and no rules remembered."""
    clock.reset()
    reset_rate_limiter()
    forget_cached_rules()
    yield
    clock.reset()
    forget_cached_rules()


@pytest.fixture(scope="session")
def shared_app():  # type: ignore[no-untyped-def]
    """Building the application takes a quarter of a second; one serves every test."""
    from ihos.app import create_app

    return create_app()


@pytest.fixture
def app(shared_app, session: AsyncSession) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """The application, with every request inside the test's transaction."""
    shared_app.state.session_override = session
    yield shared_app
    shared_app.state.session_override = None


@pytest.fixture
async def client(app, session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """Requests to the app, from the address 203.0.113.10.

    Whatever the test set up is committed (to its savepoint) before each request, as it would be in a
    real deployment, so a request that is refused and rolls back does not take the setup with it.
    """

    async def commit_setup(_request: httpx.Request) -> None:
        await session.commit()

    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", event_hooks={"request": [commit_setup]}
    ) as http:
        yield http


@pytest.fixture
def run_jobs(session: AsyncSession):  # type: ignore[no-untyped-def]
    """``await run_jobs()`` runs the due background work (every registered handler and sweep) inside the
    test's transaction, as the in-app runner would after a commit; returns how many ran."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from ihos.jobs import Runner, load_tasks

    load_tasks()
    maker = async_sessionmaker(
        bind=session.bind, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    runner = Runner(maker)

    async def run() -> int:
        total = 0
        while ran := await runner.run_once():
            total += ran
        return total

    return run


# ---------------------------------------------------------------------------------------------
# races: a database of the test's own, with real commits and a session per request


@pytest.fixture
async def own_database(tmp_path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A fresh, migrated database that the application uses for this test."""
    if IS_POSTGRES:
        url = make_url(TEST_DATABASE_URL).set(database=f"{make_url(TEST_DATABASE_URL).database}_races")
        admin = create_engine(
            url.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
        )
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            await connection.execute(text(f'CREATE DATABASE "{url.database}"'))
        database_url = url.render_as_string(hide_password=False)
    else:
        admin = None
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'races.db'}"
    engine = create_engine(database_url)
    await upgrade(engine)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    saved = ihos.db._engine, ihos.db._sessionmaker
    ihos.db._engine, ihos.db._sessionmaker = engine, maker
    from ihos.billing import sandbox

    sandbox.reset_controls()
    try:
        yield maker
    finally:
        ihos.db._engine, ihos.db._sessionmaker = saved
        await engine.dispose()
        sandbox.reset_controls()
        if admin is not None:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            await admin.dispose()


@pytest.fixture
async def real_http(shared_app) -> AsyncIterator[httpx.AsyncClient]:
    """The application with its real per-request sessions (no test transaction around it)."""
    shared_app.state.session_override = None
    transport = httpx.ASGITransport(app=shared_app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
