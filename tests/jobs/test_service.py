"""Recording jobs in the caller's transaction, and the back office's retry and discard of parked jobs."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ihos.db import commit, rollback
from ihos.jobs import JobNotFound, JobNotParked, discard_job, enqueue, list_failed_jobs, retry_job
from ihos.kit.time import clock, now
from ihos.models.jobs import Job, JobState


async def count_jobs(session, kind: str) -> int:
    return await session.scalar(select(func.count()).select_from(Job).where(Job.kind == kind))


async def reload(session, job_id: uuid.UUID) -> Job | None:
    return await session.get(Job, job_id, populate_existing=True)


async def parked_job(session, *, kind: str = "sms.send", error: str = "RuntimeError: 短信网关超时") -> Job:
    job = await enqueue(session, kind, {"message_id": str(uuid.uuid4())}, max_attempts=3)
    assert job is not None
    job.state = JobState.PARKED
    job.attempts = 3
    job.last_error = error
    await commit(session)
    return job


class TestEnqueue:
    async def test_it_works(self, session):
        clock.freeze()
        job = await enqueue(session, "sms.send", {"message_id": "m-1"})
        await commit(session)

        assert job is not None
        stored = await reload(session, job.id)
        assert stored is not None
        assert (stored.kind, stored.payload, stored.state) == (
            "sms.send",
            {"message_id": "m-1"},
            JobState.PENDING,
        )
        assert (stored.attempts, stored.max_attempts) == (0, 8)
        assert stored.due_at == now()
        assert stored.locked_until is None
        assert stored.last_error is None

    async def test_due_at_and_max_attempts_are_kept(self, session):
        due = now() + timedelta(hours=2)
        job = await enqueue(session, "followup.remind", {"plan_id": "p-1"}, due_at=due, max_attempts=3)
        await commit(session)

        stored = await reload(session, job.id)
        assert (stored.due_at, stored.max_attempts) == (due, 3)

    async def test_rolled_back_transaction_enqueues_nothing(self, session):
        await enqueue(session, "sms.send", {"message_id": "m-2"})
        await rollback(session)

        assert await count_jobs(session, "sms.send") == 0
        assert "after_commit" not in session.info

    async def test_commit_wakes_the_runners(self, session, monkeypatch):
        woken = []

        async def wake() -> None:
            woken.append(True)

        monkeypatch.setattr("ihos.jobs.service.wake_runners", wake)
        await enqueue(session, "sms.send", {"message_id": "m-3"})
        assert woken == []
        await commit(session)
        assert woken == [True]

    async def test_naive_due_at_is_refused(self, session):
        with pytest.raises(Exception, match="naive"):
            await enqueue(session, "sms.send", {}, due_at=now().replace(tzinfo=None))

    async def test_at_least_one_attempt(self, session):
        with pytest.raises(ValueError):
            await enqueue(session, "sms.send", {}, max_attempts=0)


class TestDedupe:
    async def test_same_key_twice_is_a_no_op(self, session):
        first = await enqueue(session, "booking.remind", {"booking_id": "b-1"}, dedupe_key="remind:b-1")
        second = await enqueue(session, "booking.remind", {"booking_id": "b-1"}, dedupe_key="remind:b-1")
        await commit(session)

        assert first is not None
        assert second is None
        assert await count_jobs(session, "booking.remind") == 1

    async def test_duplicate_keeps_the_callers_other_work(self, session):
        await enqueue(session, "booking.remind", {"booking_id": "b-2"}, dedupe_key="remind:b-2")
        await commit(session)

        other = await enqueue(session, "sms.send", {"message_id": "m-4"})
        assert (
            await enqueue(session, "booking.remind", {"booking_id": "b-2"}, dedupe_key="remind:b-2") is None
        )
        await commit(session)

        assert await reload(session, other.id) is not None
        assert await count_jobs(session, "booking.remind") == 1

    async def test_different_keys_are_different_jobs(self, session):
        await enqueue(session, "booking.remind", {"booking_id": "b-3"}, dedupe_key="remind:b-3")
        await enqueue(session, "booking.remind", {"booking_id": "b-4"}, dedupe_key="remind:b-4")
        await enqueue(session, "booking.remind", {"booking_id": "b-5"})
        await enqueue(session, "booking.remind", {"booking_id": "b-5"})
        await commit(session)

        assert await count_jobs(session, "booking.remind") == 4


class TestListFailedJobs:
    async def test_it_works(self, session):
        await enqueue(session, "sms.send", {"message_id": "pending"})
        first = await parked_job(session)
        clock.travel(timedelta(minutes=1))
        second = await parked_job(session, kind="payment.notify")

        page = await list_failed_jobs(session, page=1, page_size=20)

        assert page.total == 2
        assert [item.id for item in page.items] == [second.id, first.id]
        assert page.items[1].last_error == "RuntimeError: 短信网关超时"
        assert page.items[1].kind == "sms.send"
        assert page.items[1].attempts == 3

    async def test_pages(self, session):
        jobs = []
        for _ in range(3):
            jobs.append(await parked_job(session))
            clock.travel(timedelta(seconds=1))

        page = await list_failed_jobs(session, page=2, page_size=2)

        assert (page.total, page.page, page.page_size) == (3, 2, 2)
        assert [item.id for item in page.items] == [jobs[0].id]


class TestRetryJob:
    async def test_it_works(self, session):
        job = await parked_job(session)
        clock.freeze(now() + timedelta(hours=1))

        retried = await retry_job(session, job.id)
        await commit(session)

        assert retried.id == job.id
        stored = await reload(session, job.id)
        assert (stored.state, stored.attempts, stored.due_at) == (JobState.PENDING, 0, now())
        assert stored.last_error == "RuntimeError: 短信网关超时"

    async def test_unknown_job(self, session):
        with pytest.raises(JobNotFound):
            await retry_job(session, uuid.uuid4())

    async def test_only_parked_jobs(self, session):
        job = await enqueue(session, "sms.send", {})
        await commit(session)

        with pytest.raises(JobNotParked):
            await retry_job(session, job.id)
        assert (await reload(session, job.id)).attempts == 0


class TestDiscardJob:
    async def test_it_works(self, session):
        job = await parked_job(session)

        discarded = await discard_job(session, job.id)
        await commit(session)

        assert (discarded.id, discarded.kind, discarded.last_error) == (job.id, "sms.send", job.last_error)
        assert await reload(session, job.id) is None

    async def test_unknown_job(self, session):
        with pytest.raises(JobNotFound):
            await discard_job(session, uuid.uuid4())

    async def test_only_parked_jobs(self, session):
        job = await enqueue(session, "sms.send", {})
        await commit(session)

        with pytest.raises(JobNotParked):
            await discard_job(session, job.id)
        assert await reload(session, job.id) is not None
