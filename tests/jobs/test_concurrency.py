"""Several workers at once on PostgreSQL, each on its own connections: every job runs exactly once and
every sweep period runs once. These tests commit for real (the runners need separate connections), so
they use the ``engine`` fixture and delete what they created."""

from __future__ import annotations

import asyncio
import collections
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihos.db import commit
from ihos.jobs import Registry, Runner, enqueue
from ihos.kit.time import clock
from ihos.models.jobs import Job, JobState, SweepSchedule
from tests.conftest import IS_POSTGRES

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not IS_POSTGRES, reason="needs PostgreSQL: SQLite runs one writer at a time"),
]

JOBS = 300
RUNNERS = 4


@pytest.fixture
async def sessionmaker(engine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    maker = async_sessionmaker(engine, expire_on_commit=False)
    try:
        yield maker
    finally:
        async with maker() as session:
            await session.execute(delete(Job).where(Job.kind.like("test.concurrency.%")))
            await session.execute(delete(SweepSchedule).where(SweepSchedule.name.like("test.concurrency.%")))
            await commit(session)


# Each job's effect; the primary key refuses a second run's. (Each test run has a database of its own.)
effects = Table("jobs_test_effects", MetaData(), Column("n", Integer, primary_key=True))


@pytest.fixture
async def effects_table(engine) -> AsyncIterator[Table]:
    async with engine.begin() as connection:
        await connection.run_sync(effects.create)
    try:
        yield effects
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(effects.drop)


async def drain(runner: Runner) -> None:
    while await runner.run_once():
        pass


class TestNoDoubleExecution:
    async def test_each_job_runs_exactly_once(self, sessionmaker, effects_table):
        kind = f"test.concurrency.{uuid.uuid4().hex}"
        registry = Registry()
        calls: collections.Counter[int] = collections.Counter()

        @registry.handler(kind)
        async def record(session, payload):
            calls[payload["n"]] += 1
            await asyncio.sleep(0)  # let the other runners interleave
            await session.execute(insert(effects_table).values(n=payload["n"]))

        async with sessionmaker() as session:
            for n in range(JOBS):
                await enqueue(session, kind, {"n": n})
            await commit(session)

        runners = [
            Runner(sessionmaker, registry=registry, concurrency=4, batch_size=25) for _ in range(RUNNERS)
        ]
        await asyncio.gather(*(drain(runner) for runner in runners))

        assert sorted(calls) == list(range(JOBS))
        assert set(calls.values()) == {1}
        async with sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(effects_table)) == JOBS
            outcomes = (await session.execute(select(Job.state, Job.attempts).where(Job.kind == kind))).all()
        assert collections.Counter(outcomes) == {(JobState.DONE, 1): JOBS}

    async def test_expired_leases_are_reclaimed_once(self, sessionmaker, effects_table):
        kind = f"test.concurrency.{uuid.uuid4().hex}"
        registry = Registry()
        calls: collections.Counter[int] = collections.Counter()

        @registry.handler(kind)
        async def record(session, payload):
            calls[payload["n"]] += 1
            await session.execute(insert(effects_table).values(n=payload["n"]))

        clock.freeze()
        async with sessionmaker() as session:
            for n in range(50):
                await enqueue(session, kind, {"n": n})
            await commit(session)
        # A worker claims everything and dies; after its lease the others share the work.
        async with sessionmaker() as session:
            await session.execute(
                update(Job)
                .where(Job.kind == kind)
                .values(state=JobState.RUNNING, attempts=1, locked_until=clock.now())
            )
            await commit(session)
        clock.travel(timedelta(seconds=1))

        runners = [Runner(sessionmaker, registry=registry, concurrency=3) for _ in range(RUNNERS)]
        await asyncio.gather(*(drain(runner) for runner in runners))

        assert sorted(calls) == list(range(50))
        assert set(calls.values()) == {1}


class TestSweepOncePerPeriod:
    async def test_concurrent_runners_share_one_run(self, sessionmaker):
        name = f"test.concurrency.{uuid.uuid4().hex}"
        registry = Registry()
        runs = []

        @registry.sweep(name, every=timedelta(minutes=1))
        async def release(session):
            runs.append(clock.now())

        clock.freeze()
        runners = [Runner(sessionmaker, registry=registry) for _ in range(RUNNERS)]
        for period in range(3):
            await asyncio.gather(*(runner.run_once() for runner in runners))
            assert len(runs) == period + 1
            clock.travel(timedelta(minutes=1))
