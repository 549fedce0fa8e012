"""The embedded SQLite database: writers of one process take turns in arrival order, and a turn is given
back however the transaction ends."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from ihos.db import create_engine
from tests.conftest import IS_POSTGRES

pytestmark = pytest.mark.skipif(IS_POSTGRES, reason="the writer queue is SQLite's")


@pytest.fixture
async def engine(tmp_path):  # type: ignore[no-untyped-def]
    made = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'writers.db'}")
    async with made.begin() as connection:
        await connection.execute(text("CREATE TABLE turns (n INTEGER)"))
    yield made
    await made.dispose()


async def test_writers_go_in_arrival_order_and_none_waits_out_the_timeout(engine):
    """Forty writers at once, each holding the write lock across an await (as a request does): every one
    gets in, in the order they asked. SQLite's busy handler alone lets later writers overtake."""
    asked: list[int] = []

    async def writer(n: int) -> None:
        async with engine.connect() as connection:
            asked.append(n)
            await connection.begin()
            await asyncio.sleep(0.005)
            await connection.execute(text("INSERT INTO turns VALUES (:n)"), {"n": n})
            await connection.commit()

    await asyncio.gather(*(writer(n) for n in range(40)))
    async with engine.connect() as connection:
        written = list((await connection.scalars(text("SELECT n FROM turns ORDER BY rowid"))).all())
    assert written == asked


async def test_a_turn_comes_back_after_a_rollback_and_a_failed_statement(engine):
    async with engine.connect() as connection:
        await connection.begin()
        await connection.execute(text("INSERT INTO turns VALUES (1)"))
        await connection.rollback()
    async with engine.connect() as connection:
        await connection.begin()
        with pytest.raises(Exception, match="no such table"):
            await connection.execute(text("INSERT INTO missing VALUES (1)"))
        # closed with the transaction still open: the pool's reset gives the turn back
    async with engine.connect() as connection:
        await asyncio.wait_for(connection.begin(), 1)  # would wait the whole busy timeout if leaked
        await connection.execute(text("INSERT INTO turns VALUES (2)"))
        await connection.commit()


async def test_readers_do_not_wait_for_the_writers_turn(engine):
    from ihos.db import READ_ONLY

    async with engine.connect() as writer:
        await writer.begin()
        await writer.execute(text("INSERT INTO turns VALUES (1)"))
        async with engine.connect() as reader:
            await reader.execution_options(**READ_ONLY)
            counted = await asyncio.wait_for(reader.scalar(text("SELECT count(*) FROM turns")), 1)
            assert counted == 0  # the writer has not committed
        await writer.commit()
