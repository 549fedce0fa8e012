"""SMS verification codes (短信验证码): 6 digits, valid 5 minutes, single use, at most 5 wrong tries,
resend after 60 seconds, daily caps per phone and per client address. All limits are system rules.

The code goes out through the SMS gateway from a background job (outbox), so a rolled-back request
sends nothing and a gateway hiccup is retried.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.backoffice.rules import get_rule
from ihos.errors import InvalidInput, RateLimited
from ihos.jobs import enqueue
from ihos.kit.ids import digits
from ihos.kit.phone import InvalidPhone, normalise_mobile
from ihos.kit.time import now, start_of_local_day
from ihos.models.accounts import SmsCode
from ihos.security.fields import blind_index
from ihos.security.gm import hmac_sm3
from ihos.security.keys import get_keyring

PURPOSES = ("register", "sign_in", "reset_password", "bind_patient", "bind_phone")
SEND_JOB = "sms.send_code"


class InvalidPhoneNumber(InvalidInput):
    code = "invalid_phone"
    default_message = "请输入正确的11位手机号码"


class SmsCodeInvalid(InvalidInput):
    code = "sms_code_invalid"
    default_message = "验证码已失效，请重新获取"


class SmsCodeWrong(InvalidInput):
    code = "sms_code_wrong"
    default_message = "验证码不正确"


class SmsTooFrequent(RateLimited):
    code = "sms_too_frequent"
    default_message = "验证码发送太频繁，请稍后再试"


class SmsDailyCapReached(RateLimited):
    code = "sms_daily_cap_reached"
    default_message = "今日获取验证码次数已达上限，请明天再试"


@dataclass(frozen=True)
class CodeSent:
    resend_after_seconds: int
    expires_in_seconds: int


def phone_or_error(phone: str) -> str:
    try:
        return normalise_mobile(phone)
    except InvalidPhone as exc:
        raise InvalidPhoneNumber(str(exc)) from None


def _code_hash(code_id: uuid.UUID, code: str) -> str:
    return hmac_sm3(get_keyring().index_key, f"sms:{code_id}:{code}".encode()).hex()


async def request_code(
    session: AsyncSession, *, phone: str, purpose: str, client_address: str | None
) -> CodeSent:
    """Issue a new code for ``phone`` (any earlier unused code for the same purpose stops working)."""
    phone = phone_or_error(phone)
    phone_index = blind_index(phone, kind="phone")
    current = now()
    resend_after = await get_rule(session, "sms.resend_seconds")
    latest = await session.scalar(
        select(func.max(SmsCode.created_at)).where(SmsCode.phone_index == phone_index)
    )
    if latest is not None and current - latest < timedelta(seconds=resend_after):
        wait = resend_after - int((current - latest).total_seconds())
        raise SmsTooFrequent(f"验证码发送太频繁，请 {wait} 秒后再试", headers={"Retry-After": str(wait)})
    await _check_daily_caps(session, phone_index=phone_index, client_address=client_address)

    await session.execute(
        update(SmsCode)
        .where(SmsCode.phone_index == phone_index, SmsCode.purpose == purpose, SmsCode.consumed_at.is_(None))
        .values(consumed_at=current)
        .execution_options(synchronize_session=False)
    )
    valid_minutes = await get_rule(session, "sms.code_valid_minutes")
    code = digits(6)
    sms_code = SmsCode(
        id=uuid.uuid4(),
        phone=phone,
        phone_index=phone_index,
        purpose=purpose,
        code_to_send=code,
        expires_at=current + timedelta(minutes=valid_minutes),
        client_address=client_address,
    )
    sms_code.code_hash = _code_hash(sms_code.id, code)
    session.add(sms_code)
    await session.flush()
    await enqueue(
        session, SEND_JOB, {"sms_code_id": str(sms_code.id)}, dedupe_key=f"{SEND_JOB}:{sms_code.id}"
    )
    return CodeSent(resend_after_seconds=resend_after, expires_in_seconds=valid_minutes * 60)


async def _check_daily_caps(session: AsyncSession, *, phone_index: str, client_address: str | None) -> None:
    since = start_of_local_day()
    sent_to_phone = await session.scalar(
        select(func.count()).where(SmsCode.phone_index == phone_index, SmsCode.created_at >= since)
    )
    if (sent_to_phone or 0) >= await get_rule(session, "sms.daily_cap_per_phone"):
        raise SmsDailyCapReached()
    if client_address:
        sent_from_address = await session.scalar(
            select(func.count()).where(SmsCode.client_address == client_address, SmsCode.created_at >= since)
        )
        if (sent_from_address or 0) >= await get_rule(session, "sms.daily_cap_per_address"):
            raise SmsDailyCapReached("当前网络获取验证码次数已达上限，请明天再试")


async def consume_code(session: AsyncSession, *, phone: str, purpose: str, code: str) -> str:
    """Check ``code`` and use it up; returns the normalised phone. A wrong code counts a try."""
    phone = phone_or_error(phone)
    sms_code = await session.scalar(
        select(SmsCode)
        .where(
            SmsCode.phone_index == blind_index(phone, kind="phone"),
            SmsCode.purpose == purpose,
            SmsCode.consumed_at.is_(None),
            SmsCode.expires_at > now(),
        )
        .order_by(SmsCode.created_at.desc())
        .limit(1)
    )
    max_wrong = await get_rule(session, "sms.max_wrong_attempts")
    if sms_code is None or sms_code.wrong_attempts >= max_wrong:
        raise SmsCodeInvalid()
    if _code_hash(sms_code.id, code.strip()) != sms_code.code_hash:
        left = max_wrong - sms_code.wrong_attempts - 1
        message = f"验证码不正确，还可以再试 {left} 次" if left > 0 else "验证码错误次数过多，请重新获取"
        raise SmsCodeWrong(message, record=_count_wrong_try(sms_code.id))
    used = await session.execute(
        update(SmsCode)
        .where(SmsCode.id == sms_code.id, SmsCode.consumed_at.is_(None))
        .values(consumed_at=now())
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise SmsCodeInvalid()  # used by a concurrent request a moment ago
    return phone


def _count_wrong_try(code_id: uuid.UUID):  # type: ignore[no-untyped-def]
    async def record(session: AsyncSession) -> None:
        await session.execute(
            update(SmsCode)
            .where(SmsCode.id == code_id)
            .values(wrong_attempts=SmsCode.wrong_attempts + 1)
            .execution_options(synchronize_session=False)
        )

    return record
