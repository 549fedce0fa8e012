"""Fixtures for background work: a private registry per test and runners whose sessions share the
test's connection (each job's transaction is a savepoint of the test's outer transaction)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihos.jobs import Registry, Runner


@pytest.fixture
def sessionmaker(session: AsyncSession) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=session.bind, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def runner(sessionmaker: async_sessionmaker[AsyncSession], registry: Registry) -> Runner:
    return Runner(sessionmaker, registry=registry)
