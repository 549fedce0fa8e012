"""Durable background work: due jobs and outbox messages recorded in the caller's transaction, periodic
sweeps, retries with backoff, and parked failures for the back office.

See docs/developer/background-work.md.
"""

from ihos.jobs.registry import PermanentFailure, Registry, handler, load_tasks, registry, sweep
from ihos.jobs.runner import Runner, in_app, retry_delay, run_worker
from ihos.jobs.schemas import FailedJob
from ihos.jobs.service import (
    JobNotFound,
    JobNotParked,
    discard_job,
    enqueue,
    list_failed_jobs,
    retry_job,
)

__all__ = [
    "FailedJob",
    "JobNotFound",
    "JobNotParked",
    "PermanentFailure",
    "Registry",
    "Runner",
    "discard_job",
    "enqueue",
    "handler",
    "in_app",
    "list_failed_jobs",
    "load_tasks",
    "registry",
    "retry_delay",
    "retry_job",
    "run_worker",
    "sweep",
]
