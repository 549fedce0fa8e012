"""Fixtures for the integration tests: a key file for the encrypted sandbox columns, and every
sandbox's failure switch back at "none" after each test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from ihos.config import get_settings
from ihos.integrations.alipay import sandbox as alipay_sandbox
from ihos.integrations.identity import sandbox as identity_sandbox
from ihos.integrations.sms import sandbox as sms_sandbox
from ihos.integrations.wechat import sandbox as wechat_sandbox
from ihos.security.keys import generate_key_file


@pytest.fixture(scope="session", autouse=True)
def _key_file() -> None:
    # Embedded mode makes its key file on first use; on PostgreSQL it must exist beforehand.
    with contextlib.suppress(FileExistsError):
        generate_key_file(get_settings().key_file)


@pytest.fixture(autouse=True)
def _sandboxes_healthy() -> Iterator[None]:
    yield
    for module in (sms_sandbox, wechat_sandbox, alipay_sandbox, identity_sandbox):
        module.control.failure_mode = None
