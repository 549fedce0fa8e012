"""Database engine and sessions.

One async engine per process: asyncpg on PostgreSQL, aiosqlite on SQLite. The request dependency
(``ihos.api.deps.db_session``) or the job runner owns each transaction; services only ``flush()``.

SQLite: the driver's own transaction handling is switched off and every transaction starts with
``BEGIN IMMEDIATE`` (``BEGIN DEFERRED`` for read-only work, see ``READ_ONLY``), so writers queue on
the database lock (with a busy timeout) instead of failing when a read transaction tries to become
a write transaction. Foreign keys are enforced.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from ihos.config import get_settings

AfterCommit = Callable[[], Awaitable[None]]

# Execution option naming how a SQLite transaction begins. Writers begin IMMEDIATE (take the write
# lock up front); read-only work may begin DEFERRED so that it never waits for a writer (WAL mode).
SQLITE_BEGIN = "sqlite_begin"
READ_ONLY = {SQLITE_BEGIN: "DEFERRED"}


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def create_engine(url: str | None = None, **kwargs: Any) -> AsyncEngine:
    url = url or get_settings().database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    settings = get_settings()
    kwargs.setdefault("pool_size", settings.database_pool_size)
    kwargs.setdefault("max_overflow", settings.database_max_overflow)
    kwargs.setdefault("pool_pre_ping", settings.database_pre_ping)
    # Connections older than half an hour are replaced, so a restarted server or a failover is picked
    # up without a ping per request.
    kwargs.setdefault("pool_recycle", 1800)
    return create_async_engine(url, **kwargs)


_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None


def get_engine() -> AsyncEngine:
    global _engine
    if _engine is None:
        _engine = create_engine()
    return _engine


def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    global _sessionmaker
    if _sessionmaker is None:
        _sessionmaker = async_sessionmaker(get_engine(), expire_on_commit=False)
    return _sessionmaker


async def dispose_engine() -> None:
    global _engine, _sessionmaker
    if _engine is not None:
        await _engine.dispose()
    _engine = None
    _sessionmaker = None


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` once the transaction that ``session`` is in has committed.

    Events for the hub and wake-ups for the job runner go through here, so a rolled-back
    transaction publishes nothing.
    """
    session.info.setdefault("after_commit", []).append(callback)


async def commit(session: AsyncSession) -> None:
    """Commit and then run the after-commit callbacks. Only transaction owners call this."""
    await session.commit()
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        await callback()


async def rollback(session: AsyncSession) -> None:
    await session.rollback()
    session.info.pop("after_commit", None)


async def insert_unique(session: AsyncSession, row: object) -> bool:
    """Insert ``row`` in a savepoint of its own; False, with nothing else undone, when a unique
    constraint refuses it. The constraint, not a look-up beforehand, decides races.

    The row is added inside the savepoint on purpose: beginning a savepoint flushes whatever is pending,
    and a refused insert flushed there would spoil the whole transaction.
    """
    from sqlalchemy.exc import IntegrityError

    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True
