"""Fixtures for the WeChat Pay tests: the sandbox's switches back at rest, a capturing courier,
and the channel in sandbox mode with the sandbox behind it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ihos.integrations.payment import courier
from ihos.integrations.payment.wechat import (
    WeChatPayChannel,
    WeChatPaySandbox,
    WeChatPaySettings,
    control,
    wechat_pay_channel,
    wechat_pay_sandbox,
)
from ihos.integrations.payment.wechat.channel import DatabaseNonceStore
from tests.integrations.payment.wechat.helpers import Delivered, delivered


@pytest.fixture(autouse=True)
def _sandbox_at_rest() -> Iterator[None]:
    control.reset()
    yield
    control.reset()


@pytest.fixture
def deliveries() -> Iterator[list[Delivered]]:
    """What the courier POSTs, acknowledged as ihos would accept it."""
    captured: list[Delivered] = []

    def receive(request: httpx.Request) -> httpx.Response:
        captured.append(delivered(request))
        return httpx.Response(200, json={"code": "SUCCESS", "message": "成功"})

    previous, courier.transport = courier.transport, httpx.MockTransport(receive)
    yield captured
    courier.transport = previous


@pytest.fixture
def settings() -> WeChatPaySettings:
    return WeChatPaySettings()


@pytest.fixture
def sandbox(session, settings) -> WeChatPaySandbox:
    return wechat_pay_sandbox(session, settings)


@pytest.fixture
def channel(session, sandbox) -> WeChatPayChannel:
    """The real channel with ``sandbox`` behind it (what ``wechat_pay_channel`` builds)."""
    return WeChatPayChannel(sandbox.merchant, counterpart=sandbox, nonces=DatabaseNonceStore(session))


@pytest.fixture
def configured_channel(session, settings):
    return wechat_pay_channel(session, settings)
