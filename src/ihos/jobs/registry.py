"""Which code runs which job kind, and which periodic sweeps exist.

Domains register in their ``tasks.py`` with ``@handler("sms.send")`` and ``@sweep("holds.release",
every=...)``; ``load_tasks()`` imports every ``ihos.<domain>.tasks`` module so a worker process knows
every handler, not only those its imports happened to reach.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]
SweepFunction = Callable[[AsyncSession], Awaitable[None]]
F = TypeVar("F", bound=Callable[..., Awaitable[None]])


class PermanentFailure(Exception):
    """Raised by a handler when retrying cannot help (the order no longer exists, the counterpart
    refused for good): the job is parked at once with this message."""


@dataclass(frozen=True)
class Sweep:
    name: str
    every: timedelta
    run: SweepFunction


@dataclass
class Registry:
    """Handlers by job kind and sweeps by name. The process-wide one is ``registry``; tests make
    their own so that their handlers never meet another test's runner."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    sweeps: dict[str, Sweep] = field(default_factory=dict)

    def handler(self, kind: str) -> Callable[[F], F]:
        """Register ``async def run(session, payload) -> None`` for jobs of ``kind``.

        The handler runs inside the job's transaction, which commits together with the job marked
        done; it may run more than once (a retry after a crash), so it must be idempotent.
        """

        def register(function: F) -> F:
            _check_unique(self.handlers.get(kind), function, f"job kind {kind!r}")
            self.handlers[kind] = function
            return function

        return register

    def sweep(self, name: str, *, every: timedelta) -> Callable[[F], F]:
        """Register ``async def run(session) -> None`` to run about once every ``every``, by one
        worker at a time across the deployment."""
        if every <= timedelta():
            raise ValueError("a sweep needs a positive period")

        def register(function: F) -> F:
            existing = self.sweeps.get(name)
            _check_unique(existing.run if existing else None, function, f"sweep {name!r}")
            self.sweeps[name] = Sweep(name, every, function)
            return function

        return register


def _check_unique(existing: Callable[..., Any] | None, new: Callable[..., Any], what: str) -> None:
    # The same function seen twice is a module imported twice, not a clash.
    if existing is not None and _qualified_name(existing) != _qualified_name(new):
        raise ValueError(f"{what} is already handled by {_qualified_name(existing)}")


def _qualified_name(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


registry = Registry()
handler = registry.handler
sweep = registry.sweep


def load_tasks() -> None:
    """Import ``tasks`` of every ihos package that has one, registering their handlers and sweeps."""
    import ihos

    for package in pkgutil.iter_modules(ihos.__path__):
        if package.ispkg and importlib.util.find_spec(f"ihos.{package.name}.tasks") is not None:
            importlib.import_module(f"ihos.{package.name}.tasks")
