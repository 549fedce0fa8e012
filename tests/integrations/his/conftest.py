"""The sandbox HIS's run-time switches back to normal after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ihos.integrations.his import sandbox


@pytest.fixture(autouse=True)
def _his_sandbox_healthy() -> Iterator[None]:
    sandbox.control.reset()
    sandbox.control.fail_next_write_backs(0)
    yield
    sandbox.control.reset()
