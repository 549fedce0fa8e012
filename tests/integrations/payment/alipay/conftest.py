"""Fixtures for the Alipay payment tests: the sandbox's switches back to normal after each test, and
the courier's deliveries captured instead of reaching a server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from ihos.integrations.payment import courier
from ihos.integrations.payment.alipay import control


@dataclass
class Inbox:
    """What the courier delivered; ``answer`` is what the receiver answers (200 = acknowledged)."""

    requests: list[httpx.Request] = field(default_factory=list)
    answer: int = 200

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.answer, text="success" if self.answer == 200 else "fail")

    @property
    def bodies(self) -> list[bytes]:
        return [request.content for request in self.requests]


@pytest.fixture(autouse=True)
def _sandbox_normal() -> Iterator[None]:
    control.reset()
    yield
    control.reset()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    previous, courier.transport = courier.transport, httpx.MockTransport(box.handle)
    yield box
    courier.transport = previous
