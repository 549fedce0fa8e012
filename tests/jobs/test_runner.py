"""Running jobs and sweeps: one transaction per job, retries with backoff, parking, leases, sweeps once
per period. Runners here share the test's connection and run one after the other; the concurrent
cases are in test_concurrency.py (PostgreSQL)."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from ihos.db import commit
from ihos.jobs import PermanentFailure, Runner, enqueue, in_app, retry_delay
from ihos.jobs.repository import claim_due_jobs
from ihos.jobs.runner import LEASE, RETRY_BASE, RETRY_CAP
from ihos.jobs.tasks import KEEP_DONE_JOBS, prune_done_jobs
from ihos.kit.time import clock, now
from ihos.models.jobs import Job, JobState, SweepSchedule


async def reload(session, job_id: uuid.UUID) -> Job | None:
    return await session.get(Job, job_id, populate_existing=True)


async def add_job(session, kind: str, payload: dict | None = None, **options) -> Job:
    job = await enqueue(session, kind, payload or {}, **options)
    await commit(session)
    assert job is not None
    return job


async def kinds_in_table(session) -> list[str]:
    return list((await session.scalars(select(Job.kind).order_by(Job.id))).all())


class TestRunOnce:
    async def test_it_works(self, session, registry, runner):
        seen = []

        @registry.handler("sms.send")
        async def send(session, payload):
            seen.append(payload)

        job = await add_job(session, "sms.send", {"message_id": "m-1"})

        assert await runner.run_once() == 1

        assert seen == [{"message_id": "m-1"}]
        stored = await reload(session, job.id)
        assert (stored.state, stored.attempts, stored.locked_until) == (JobState.DONE, 1, None)
        assert await runner.run_once() == 0
        assert len(seen) == 1

    async def test_nothing_to_do(self, runner):
        assert await runner.run_once() == 0

    async def test_runs_every_due_job_oldest_first(self, session, registry, runner):
        seen = []

        @registry.handler("sms.send")
        async def send(session, payload):
            seen.append(payload["n"])

        for n in range(5):
            await add_job(session, "sms.send", {"n": n})

        assert await runner.run_once() == 5
        assert seen == [0, 1, 2, 3, 4]

    async def test_batch_size_bounds_one_run(self, session, sessionmaker, registry):
        @registry.handler("sms.send")
        async def send(session, payload):
            pass

        for n in range(5):
            await add_job(session, "sms.send", {"n": n})
        runner = Runner(sessionmaker, registry=registry, batch_size=3)

        assert await runner.run_once() == 3
        assert await runner.run_once() == 2

    async def test_job_waits_until_due(self, session, registry, runner):
        @registry.handler("followup.remind")
        async def remind(session, payload):
            pass

        clock.freeze()
        job = await add_job(session, "followup.remind", due_at=now() + timedelta(hours=1))

        assert await runner.run_once() == 0
        clock.travel(timedelta(minutes=59, seconds=59))
        assert await runner.run_once() == 0
        clock.travel(timedelta(seconds=1))
        assert await runner.run_once() == 1
        assert (await reload(session, job.id)).state == JobState.DONE

    async def test_handler_work_commits_with_the_job(self, session, registry, runner):
        @registry.handler("booking.confirm")
        async def confirm(session, payload):
            await enqueue(session, "sms.send", {"booking_id": payload["booking_id"]})

        @registry.handler("sms.send")
        async def send(session, payload):
            pass

        await add_job(session, "booking.confirm", {"booking_id": "b-1"})

        # The SMS job enqueued by the first handler is committed with it, and runs in the same pass.
        assert await runner.run_once() == 2
        states = (await session.execute(select(Job.kind, Job.state).order_by(Job.id))).all()
        assert states == [("booking.confirm", JobState.DONE), ("sms.send", JobState.DONE)]


class TestFailure:
    async def test_failed_handler_work_is_undone_and_retried_later(self, session, registry, runner):
        @registry.handler("booking.confirm")
        async def confirm(session, payload):
            await enqueue(session, "sms.send", {"booking_id": payload["booking_id"]})
            raise RuntimeError("HIS 超时")

        clock.freeze()
        job = await add_job(session, "booking.confirm", {"booking_id": "b-1"})

        assert await runner.run_once() == 1

        assert await kinds_in_table(session) == ["booking.confirm"]
        stored = await reload(session, job.id)
        assert (stored.state, stored.attempts, stored.locked_until) == (JobState.PENDING, 1, None)
        assert stored.last_error == "RuntimeError: HIS 超时"
        assert now() + RETRY_BASE / 2 <= stored.due_at <= now() + RETRY_BASE

    async def test_retry_waits_for_the_backoff(self, session, registry, runner):
        calls = []

        @registry.handler("sms.send")
        async def send(session, payload):
            calls.append(now())
            if len(calls) == 1:
                raise ConnectionError("gateway down")

        clock.freeze()
        job = await add_job(session, "sms.send")
        await runner.run_once()
        due_at = (await reload(session, job.id)).due_at

        clock.freeze(due_at - timedelta(milliseconds=1))
        assert await runner.run_once() == 0
        clock.freeze(due_at)
        assert await runner.run_once() == 1

        assert calls[1] == due_at
        stored = await reload(session, job.id)
        assert (stored.state, stored.attempts) == (JobState.DONE, 2)

    async def test_parked_after_max_attempts(self, session, registry, runner):
        calls = []

        @registry.handler("sms.send")
        async def send(session, payload):
            calls.append(1)
            raise ConnectionError(f"gateway down ({len(calls)})")

        clock.freeze()
        job = await add_job(session, "sms.send", max_attempts=3)
        for _ in range(5):
            await runner.run_once()
            clock.travel(RETRY_CAP)

        assert len(calls) == 3
        stored = await reload(session, job.id)
        assert (stored.state, stored.attempts) == (JobState.PARKED, 3)
        assert stored.last_error == "ConnectionError: gateway down (3)"

    async def test_permanent_failure_parks_at_once(self, session, registry, runner):
        @registry.handler("payment.refund")
        async def refund(session, payload):
            raise PermanentFailure("订单不存在")

        job = await add_job(session, "payment.refund", {"order_no": "20261127001"})

        assert await runner.run_once() == 1

        stored = await reload(session, job.id)
        assert (stored.state, stored.attempts, stored.last_error) == (JobState.PARKED, 1, "订单不存在")
        clock.travel(RETRY_CAP)
        assert await runner.run_once() == 0

    async def test_unknown_kind_fails_like_any_error(self, session, runner):
        job = await add_job(session, "no.such.kind", max_attempts=1)

        assert await runner.run_once() == 1

        stored = await reload(session, job.id)
        assert stored.state == JobState.PARKED
        assert stored.last_error == "LookupError: no handler for job kind 'no.such.kind'"

    async def test_a_failure_does_not_stop_the_others(self, session, registry, runner):
        seen = []

        @registry.handler("sms.send")
        async def send(session, payload):
            if payload["n"] == 1:
                raise RuntimeError("bad number")
            seen.append(payload["n"])

        for n in range(3):
            await add_job(session, "sms.send", {"n": n})

        assert await runner.run_once() == 3
        assert seen == [0, 2]


class TestRetryDelay:
    @given(attempt=st.integers(min_value=1, max_value=1000), seed=st.integers())
    def test_exponential_with_jitter_and_capped(self, attempt, seed):
        ceiling = min(RETRY_CAP, RETRY_BASE * 2 ** min(attempt - 1, 30))
        delay = retry_delay(attempt, rng=random.Random(seed))
        assert ceiling / 2 <= delay <= ceiling

    def test_grows(self):
        rng = random.Random(7)
        delays = [retry_delay(attempt, rng=rng) for attempt in range(1, 9)]
        ceilings = [RETRY_BASE * 2 ** (attempt - 1) for attempt in range(1, 9)]
        assert all(ceiling / 2 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True))
        assert retry_delay(50, rng=rng) <= RETRY_CAP


class TestLease:
    async def claim_and_die(self, sessionmaker):
        """A worker that claims a job and never finishes it."""
        async with sessionmaker() as other:
            claimed = await claim_due_jobs(other, limit=10, lease=LEASE)
            await commit(other)
        return claimed

    async def test_expired_lease_is_claimed_again(self, session, sessionmaker, registry, runner):
        seen = []

        @registry.handler("sms.send")
        async def send(session, payload):
            seen.append(payload)

        clock.freeze()
        job = await add_job(session, "sms.send", {"message_id": "m-1"})
        assert len(await self.claim_and_die(sessionmaker)) == 1

        assert await runner.run_once() == 0
        clock.travel(LEASE - timedelta(seconds=1))
        assert await runner.run_once() == 0
        clock.travel(timedelta(seconds=1))
        assert await runner.run_once() == 1

        assert seen == [{"message_id": "m-1"}]
        stored = await reload(session, job.id)
        assert (stored.state, stored.attempts) == (JobState.DONE, 2)

    async def test_late_finisher_is_undone(self, session, sessionmaker, registry, runner):
        @registry.handler("booking.confirm")
        async def confirm(session, payload):
            await enqueue(session, "sms.send", {"booking_id": "b-1"})

        @registry.handler("sms.send")
        async def send(session, payload):
            pass

        clock.freeze()
        await add_job(session, "booking.confirm")
        [stale] = await self.claim_and_die(sessionmaker)
        clock.travel(LEASE)
        assert await runner.run_once() == 2

        # The first worker wakes up and finishes: its work is rolled back, the job stays done once.
        await runner._run_job(stale)

        assert await kinds_in_table(session) == ["booking.confirm", "sms.send"]
        assert (await reload(session, stale.id)).attempts == 2

    async def test_lease_running_out_on_the_last_attempt_parks(self, session, sessionmaker, registry, runner):
        @registry.handler("sms.send")
        async def send(session, payload):
            pytest.fail("a job that used up its attempts ran again")

        clock.freeze()
        job = await add_job(session, "sms.send", max_attempts=1)
        await self.claim_and_die(sessionmaker)
        clock.travel(LEASE)

        assert await runner.run_once() == 0

        stored = await reload(session, job.id)
        assert stored.state == JobState.PARKED
        assert "租约" in stored.last_error


class TestSweeps:
    async def test_runs_once_per_period_whatever_the_number_of_runners(self, sessionmaker, registry):
        runs = []

        @registry.sweep("holds.release", every=timedelta(seconds=30))
        async def release(session):
            runs.append(now())

        clock.freeze()
        first, second = Runner(sessionmaker, registry=registry), Runner(sessionmaker, registry=registry)

        assert await first.run_once() == 1
        assert await second.run_once() == 0
        assert await first.run_once() == 0
        clock.travel(timedelta(seconds=29))
        assert await second.run_once() == 0
        clock.travel(timedelta(seconds=1))
        assert await second.run_once() == 1
        assert await first.run_once() == 0

        assert len(runs) == 2

    async def test_first_sight_creates_the_schedule(self, session, registry, runner):
        @registry.sweep("audit.seal", every=timedelta(seconds=5))
        async def seal(session):
            pass

        clock.freeze()
        await runner.run_once()

        schedule = await session.scalar(select(SweepSchedule).where(SweepSchedule.name == "audit.seal"))
        assert schedule.next_run_at == now() + timedelta(seconds=5)

    async def test_sweep_work_commits(self, session, registry, runner):
        @registry.sweep("followup.plan", every=timedelta(minutes=1))
        async def plan(session):
            await enqueue(session, "followup.remind", {"plan_id": "p-1"})

        await runner.run_once()

        assert await kinds_in_table(session) == ["followup.remind"]

    async def test_failing_sweep_is_undone_and_does_not_stop_jobs(self, session, registry, runner):
        seen = []

        @registry.sweep("holds.release", every=timedelta(minutes=1))
        async def release(session):
            await enqueue(session, "never", {})
            raise RuntimeError("boom")

        @registry.handler("sms.send")
        async def send(session, payload):
            seen.append(payload)

        await add_job(session, "sms.send", {"n": 1})

        assert await runner.run_once() == 2
        assert seen == [{"n": 1}]
        assert await kinds_in_table(session) == ["sms.send"]

    def test_period_must_be_positive(self, registry):
        with pytest.raises(ValueError):
            registry.sweep("bad", every=timedelta())


class TestRegistry:
    def test_a_kind_has_one_handler(self, registry):
        @registry.handler("sms.send")
        async def send(session, payload):
            pass

        async def other(session, payload):
            pass

        with pytest.raises(ValueError, match=r"sms\.send"):
            registry.handler("sms.send")(other)
        # The same function registered again (a module imported twice) is not a clash.
        registry.handler("sms.send")(send)


class TestPrune:
    async def test_done_jobs_are_deleted_after_the_keeping_period(self, session, registry, runner):
        @registry.handler("sms.send")
        async def send(session, payload):
            pass

        clock.freeze()
        old = await add_job(session, "sms.send")
        await runner.run_once()
        parked = await add_job(session, "parked", max_attempts=1)
        await runner.run_once()
        pending = await add_job(session, "later", due_at=now() + KEEP_DONE_JOBS * 2)
        clock.travel(KEEP_DONE_JOBS)
        recent = await add_job(session, "sms.send")
        await runner.run_once()
        clock.travel(timedelta(seconds=1))

        await prune_done_jobs(session)
        await commit(session)

        remaining = set((await session.scalars(select(Job.id))).all())
        assert remaining == {parked.id, pending.id, recent.id}
        assert old.id not in remaining

    async def test_prune_is_registered(self):
        from ihos.jobs import load_tasks, registry

        load_tasks()
        assert registry.sweeps["jobs.prune"].run is prune_done_jobs


class TestRunForever:
    async def test_commit_wakes_the_runner(self, session, sessionmaker, registry):
        ran = asyncio.Event()

        @registry.handler("sms.send")
        async def send(session, payload):
            ran.set()

        # Polling is slow enough that only the wake-up can make the job run within the wait.
        runner = Runner(sessionmaker, registry=registry, poll_interval=3600)
        idle = asyncio.Event()
        run_once = runner.run_once

        async def run_once_then_idle() -> int:
            ran = await run_once()
            idle.set()
            return ran

        runner.run_once = run_once_then_idle
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run_forever(stop))
        try:
            # The runner shares the test's connection: enqueue only once it waits.
            async with asyncio.timeout(10):
                await idle.wait()
            await add_job(session, "sms.send")
            async with asyncio.timeout(10):
                await ran.wait()
        finally:
            stop.set()
            async with asyncio.timeout(10):
                await task

    async def test_in_app(self, session, sessionmaker, registry):
        ran = asyncio.Event()

        @registry.handler("sms.send")
        async def send(session, payload):
            ran.set()

        job = await add_job(session, "sms.send")
        async with in_app(sessionmaker, registry=registry):
            async with asyncio.timeout(10):
                await ran.wait()

        assert (await reload(session, job.id)).state == JobState.DONE
        assert await session.scalar(select(func.count()).select_from(Job)) == 1
