"""Background work of sign-in: sending SMS (codes and notices) and tidying expired rows."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.auth.sms import SEND_JOB
from ihos.integrations.sms import SmsError, get_sms_gateway
from ihos.jobs import PermanentFailure, handler, sweep
from ihos.kit.time import now
from ihos.models.accounts import SmsCode
from ihos.models.system import RequestNonce
from ihos.security.fields import decrypt_field

NOTICE_JOB = "sms.send_notice"
# Codes are kept a week after they were issued (the daily caps need today's; support asks about recent ones).
KEEP_SMS_CODES = timedelta(days=7)


async def _send(session: AsyncSession, phone: str, template: str, params: dict[str, str]) -> None:
    try:
        await get_sms_gateway(session).send(phone, template, params)
    except SmsError as exc:
        if not exc.retryable:
            raise PermanentFailure(f"SMS refused: {exc.code}") from exc
        raise


@handler(SEND_JOB)
async def send_code(session: AsyncSession, payload: dict[str, Any]) -> None:
    sms_code = await session.get(SmsCode, uuid.UUID(payload["sms_code_id"]))
    if sms_code is None or sms_code.code_to_send is None:
        return  # already sent by an earlier attempt
    if sms_code.expires_at <= now():
        sms_code.code_to_send = None
        return  # too late to be of use: don't send a dead code
    await _send(session, sms_code.phone, "verification_code", {"code": sms_code.code_to_send})
    sms_code.code_to_send = None
    sms_code.sent_at = now()


@handler(NOTICE_JOB)
async def send_notice(session: AsyncSession, payload: dict[str, Any]) -> None:
    """A templated SMS whose phone and parameters travel encrypted in the job payload."""
    params = json.loads(decrypt_field(payload["params"]))
    await _send(session, decrypt_field(payload["phone"]), payload["template"], params)


@sweep("auth.prune", every=timedelta(minutes=10))
async def prune(session: AsyncSession) -> None:
    await session.execute(delete(RequestNonce).where(RequestNonce.expires_at < now()))
    await session.execute(delete(SmsCode).where(SmsCode.created_at < now() - KEEP_SMS_CODES))
