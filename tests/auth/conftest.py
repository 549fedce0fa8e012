"""Helpers for the sign-in tests: codes as a phone receives them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.sms import list_inbox


@pytest.fixture
def received_code(session: AsyncSession, run_jobs):  # type: ignore[no-untyped-def]
    """``await received_code(phone)``: deliver pending SMS and return the newest code the phone got."""

    async def read(phone: str) -> str:
        await run_jobs()
        messages = await list_inbox(session, phone=phone, limit=1)
        assert messages, f"no SMS reached {phone}"
        match = re.search(r"验证码为(\d{6})", messages[0].text)
        assert match, messages[0].text
        return match.group(1)

    return read
