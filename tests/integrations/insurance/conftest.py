"""The insurance sandbox's run-time switches back to normal after each test, and a courier that
delivers notifications into a list instead of over the network."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ihos.integrations.payment import courier
from ihos.integrations.payment.insurance import sandbox


@pytest.fixture(autouse=True)
def _insurance_sandbox_healthy() -> Iterator[None]:
    yield
    sandbox.control.reset()


@pytest.fixture
def delivered(monkeypatch) -> list[httpx.Request]:  # type: ignore[no-untyped-def]
    """The notifications the courier delivered (each answered 200), in order."""
    received: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200, json={"code": 0, "message": "成功"})

    monkeypatch.setattr(courier, "transport", httpx.MockTransport(receive))
    return received
