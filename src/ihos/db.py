"""Database engine and sessions.

One async engine per process: asyncpg on PostgreSQL, aiosqlite on SQLite. The request dependency
(``ihos.api.deps.db_session``) or the job runner owns each transaction; services only ``flush()``.

SQLite: the driver's own transaction handling is switched off and every transaction starts with
``BEGIN IMMEDIATE`` (``BEGIN DEFERRED`` for read-only work, see ``READ_ONLY``), so writers queue on
the database lock instead of failing when a read transaction tries to become a write transaction.
Within the process they queue in arrival order (``_Writers``): SQLite's own busy handler only polls,
and under a burst an unlucky writer could wait past the busy timeout while later ones got in. The busy
timeout still covers other processes (an ``ihos`` command beside the server). Foreign keys are enforced.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_only

from ihos.config import get_settings

AfterCommit = Callable[[], Awaitable[None]]

# Execution option naming how a SQLite transaction begins. Writers begin IMMEDIATE (take the write
# lock up front); read-only work may begin DEFERRED so that it never waits for a writer (WAL mode).
SQLITE_BEGIN = "sqlite_begin"
READ_ONLY = {SQLITE_BEGIN: "DEFERRED"}


SQLITE_BUSY_SECONDS = 15


class _Writers:
    """The process's SQLite writers, one at a time in arrival order: a write transaction takes the turn
    before ``BEGIN IMMEDIATE`` and gives it back when it commits or rolls back. One lock per event loop
    (an engine can outlive the loop that first used it, as in tests)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def take_turn(self, connection: Any) -> None:
        """Called inside SQLAlchemy's greenlet: waits (async) for the turn, at most the busy timeout."""
        lock = self._locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        try:
            await_only(asyncio.wait_for(lock.acquire(), SQLITE_BUSY_SECONDS))
        except TimeoutError:
            locked = sqlite3.OperationalError("database is locked")
            raise OperationalError("BEGIN IMMEDIATE", None, locked) from None
        connection.info[_TURN] = lock

    @staticmethod
    def give_back(info: dict[Any, Any]) -> None:
        """Release the turn held by the connection whose ``info`` this is, if it holds one."""
        lock = info.pop(_TURN, None)
        if lock is not None:
            lock.release()


_TURN = "ihos_sqlite_writer_turn"


def _configure_sqlite(engine: AsyncEngine) -> None:
    writers = _Writers()

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        if mode == "IMMEDIATE":
            writers.take_turn(connection)
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            writers.give_back(connection.info)
            raise

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def on_end(connection: Any) -> None:
        writers.give_back(connection.info)

    # A connection returned or thrown away in the middle of a transaction gives its turn back too.
    @event.listens_for(engine.sync_engine.pool, "reset")
    def on_reset(_dbapi_connection: Any, record: Any, _reset_state: Any) -> None:
        writers.give_back(record.info)

    @event.listens_for(engine.sync_engine.pool, "invalidate")
    def on_invalidate(_dbapi_connection: Any, record: Any, _exception: Any) -> None:
        writers.give_back(record.info)


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
