"""The job runner: claims due jobs and sweeps and runs each in a transaction of its own.

One loop serves both modes: ``ihos worker`` (production, ``run_worker``) and a task inside the web
process (embedded, ``in_app``). Workers coordinate only through the database, so any number may run.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihos.db import commit, dispose_engine, get_sessionmaker, rollback
from ihos.jobs import repository
from ihos.jobs.registry import PermanentFailure, Registry, Sweep, load_tasks
from ihos.jobs.registry import registry as default_registry
from ihos.jobs.repository import ClaimedJob
from ihos.kit.time import now

log = logging.getLogger(__name__)

RETRY_BASE = timedelta(seconds=20)
RETRY_CAP = timedelta(hours=1)
LEASE = timedelta(minutes=5)
# A handler is stopped well before its lease runs out, so that no other worker can claim the job
# while it still runs.
HANDLER_SHARE_OF_LEASE = 0.8
ERROR_TEXT_LIMIT = 2000

# Runners of this process, woken when a transaction that enqueued work commits.
_wake_events: set[asyncio.Event] = set()
# Jitter needs no cryptographic randomness.
_jitter = random.Random()  # noqa: S311


async def wake_runners() -> None:
    for event in _wake_events:
        event.set()


def retry_delay(attempt: int, *, rng: random.Random = _jitter) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1, 2, ...): exponential from
    ``RETRY_BASE``, capped at ``RETRY_CAP``, and jittered down by up to half so that jobs that failed
    together (a counterpart's outage) do not all come back at the same instant."""
    ceiling = min(RETRY_CAP, RETRY_BASE * 2 ** min(attempt - 1, 20))
    return ceiling * rng.uniform(0.5, 1.0)


def _describe(error: BaseException) -> str:
    # A PermanentFailure's message is written for the administrator; other errors need their type.
    written = isinstance(error, PermanentFailure) and str(error)
    text = str(error) if written else f"{type(error).__name__}: {error}"
    return text[:ERROR_TEXT_LIMIT]


class Runner:
    """Runs due jobs and sweeps from one registry, with fresh sessions from ``sessionmaker``.

    ``concurrency`` jobs run at a time (each holds a connection); one ``run_once`` runs at most
    ``batch_size`` jobs so that sweeps and shutdown get their turn under a backlog.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        registry: Registry = default_registry,
        concurrency: int = 1,
        batch_size: int = 100,
        lease: timedelta = LEASE,
        poll_interval: float = 1.0,
    ) -> None:
        if concurrency < 1 or batch_size < 1:
            raise ValueError("concurrency and batch_size must be positive")
        self.sessionmaker = sessionmaker
        self.registry = registry
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.lease = lease
        self.poll_interval = poll_interval
        self._handler_timeout = lease.total_seconds() * HANDLER_SHARE_OF_LEASE
        self._known_sweeps: set[str] = set()
        self._wake = asyncio.Event()

    async def run_once(self) -> int:
        """Run the sweeps that are due, then due jobs until none is left or ``batch_size`` ran.
        Returns how many jobs and sweeps ran (successfully or not)."""
        sweeps = await self._claim_sweeps()
        for sweep in sweeps:
            await self._run_sweep(sweep)
        ran = 0
        while ran < self.batch_size:
            jobs = await self._claim_jobs(min(self.concurrency, self.batch_size - ran))
            await asyncio.gather(*(self._run_job(job) for job in jobs))
            ran += len(jobs)
            if len(jobs) < self.concurrency:
                break
        return ran + len(sweeps)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, waking on every commit that enqueued work in this process and
        otherwise every ``poll_interval`` seconds (work enqueued by other processes, due times)."""
        _wake_events.add(self._wake)
        stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    backlog = await self.run_once() >= self.batch_size
                except Exception:
                    # The database may be restarting: keep the worker alive and try again.
                    log.exception("background work: claiming failed; trying again")
                    backlog = False
                if not backlog:
                    await self._pause(stopping)
        finally:
            _wake_events.discard(self._wake)
            stopping.cancel()

    async def _pause(self, stopping: asyncio.Future[Any]) -> None:
        waking: asyncio.Future[Any] = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait(
                {stopping, waking}, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waking.cancel()

    async def _claim_jobs(self, limit: int) -> list[ClaimedJob]:
        async with self.sessionmaker() as session:
            parked = await repository.park_abandoned_jobs(session)
            jobs = await repository.claim_due_jobs(session, limit=limit, lease=self.lease)
            await commit(session)
        if parked:
            log.error("background work: parked %d job(s) whose lease ran out on their last attempt", parked)
        return jobs

    async def _run_job(self, job: ClaimedJob) -> None:
        """Run one claimed job; never raises (a failure is recorded on the job, or left to the lease)."""
        try:
            await self._execute(job)
        except Exception as error:
            try:
                await self._record_failure(job, error)
            except Exception:
                log.exception(
                    "background work: could not record the failure of job %s; its lease will run out", job.id
                )

    async def _execute(self, job: ClaimedJob) -> None:
        handler = self.registry.handlers.get(job.kind)
        if handler is None:
            # Retried like any failure: a worker of the next release may know the kind.
            raise LookupError(f"no handler for job kind {job.kind!r}")
        async with self.sessionmaker() as session:
            async with asyncio.timeout(self._handler_timeout):
                await handler(session, job.payload)
            if not await repository.mark_done(session, job):
                # Our lease ran out and another worker claimed the job: its run counts, ours must not.
                await rollback(session)
                log.warning("background work: job %s was claimed again before it finished; undone", job.id)
                return
            await commit(session)
        log.debug("background work: job %s (%s) done on attempt %d", job.id, job.kind, job.attempt)

    async def _record_failure(self, job: ClaimedJob, error: Exception) -> None:
        text = _describe(error)
        parking = isinstance(error, PermanentFailure) or job.attempt >= job.max_attempts
        async with self.sessionmaker() as session:
            if parking:
                await repository.park(session, job, error=text)
            else:
                due_at = now() + retry_delay(job.attempt)
                await repository.schedule_retry(session, job, due_at=due_at, error=text)
            await commit(session)
        outcome = "parked" if parking else "will be retried"
        log.warning(
            "background work: job %s (%s) failed on attempt %d/%d and %s",
            job.id,
            job.kind,
            job.attempt,
            job.max_attempts,
            outcome,
            exc_info=error,
        )

    async def _claim_sweeps(self) -> list[Sweep]:
        sweeps = self.registry.sweeps
        if not sweeps:
            return []
        async with self.sessionmaker() as session:
            if not self._known_sweeps.issuperset(sweeps):
                await repository.add_missing_sweeps(session, sweeps)
            claimed = [
                sweeps[name]
                for name in await repository.due_sweep_names(session, sweeps)
                if await repository.claim_sweep(session, name, every=sweeps[name].every)
            ]
            await commit(session)
        self._known_sweeps.update(sweeps)
        return claimed

    async def _run_sweep(self, sweep: Sweep) -> None:
        try:
            async with self.sessionmaker() as session:
                async with asyncio.timeout(self._handler_timeout):
                    await sweep.run(session)
                await commit(session)
        except Exception:
            # The next period runs it again; sweeps pick up whatever is due, so nothing is lost.
            log.exception("background work: sweep %s failed", sweep.name)


async def run_worker(*, concurrency: int = 4) -> None:
    """``ihos worker``: run background work with the database from the settings until SIGTERM or
    SIGINT; the jobs in hand finish first (a job cut short is claimed again when its lease runs out)."""
    from ihos.realtime import close_hub

    load_tasks()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info("background work: worker started (concurrency %d)", concurrency)
    try:
        await Runner(get_sessionmaker(), concurrency=concurrency).run_forever(stop)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await close_hub()
        await dispose_engine()
    log.info("background work: worker stopped")


@asynccontextmanager
async def in_app(
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    *,
    registry: Registry = default_registry,
    grace_seconds: float = 10.0,
) -> AsyncIterator[Runner]:
    """Run background work as a task of the web process (embedded mode), for the app's lifespan.

    On exit the runner finishes the jobs in hand, for at most ``grace_seconds``.
    """
    load_tasks()
    runner = Runner(sessionmaker or get_sessionmaker(), registry=registry)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run_forever(stop), name="ihos-background-work")
    try:
        yield runner
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, grace_seconds)
        except TimeoutError:
            log.warning("background work: stopped after %.0fs with a job still running", grace_seconds)
