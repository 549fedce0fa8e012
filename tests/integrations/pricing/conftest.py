"""The sandbox intranet's failure switch back to normal after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ihos.integrations.pricing import sandbox


@pytest.fixture(autouse=True)
def _pricing_sandbox_healthy() -> Iterator[None]:
    yield
    sandbox.control.failure_mode = None
