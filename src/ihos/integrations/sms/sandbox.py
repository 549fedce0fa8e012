"""The sandbox SMS gateway (短信沙箱): a fake Aliyun dysmsapi that keeps messages in an inbox table.

It speaks Aliyun's protocol to the real client (``AliyunSmsGateway``) through an in-process
transport: it checks the AccessKey and the HMAC-SHA1 signature, refuses malformed numbers
(``isv.MOBILE_NUMBER_ILLEGAL``), applies the carriers' per-number limits
(``isv.BUSINESS_LIMIT_CONTROL``), and fails on demand (settings, ``control``, or the reserved
numbers in ``FAILING_NUMBERS``). Accepted messages land in ``sandbox_sms_messages``, the inbox the
demo console shows (``list_inbox``).

The message is written in the caller's transaction: a caller that rolls back after sending leaves no
inbox row, where a real SMS would already be on its way. Send as the last step of a transaction.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.settings import SmsSandboxSettings
from ihos.integrations.sms.aliyun import API_VERSION, TIMESTAMP_FORMAT, AliyunSmsConfig, sign
from ihos.integrations.sms.base import SmsError
from ihos.integrations.sms.templates import SIGN_NAME, TEMPLATES, render
from ihos.kit.ids import digits
from ihos.kit.time import now, start_of_local_day
from ihos.models.sandbox import SandboxSmsMessage
from ihos.security.fields import blind_index
from ihos.security.masking import mask_phone

log = logging.getLogger(__name__)

FailureMode = Literal["none", "unavailable", "timeout", "reject"]

# Reserved numbers that always fail the same way, for tests and demos that need a failing send
# without switching the whole sandbox.
FAILING_NUMBERS: dict[str, FailureMode] = {
    "19900000001": "unavailable",
    "19900000002": "timeout",
    "19900000003": "reject",
}

# The sandbox's own credentials and template codes. The endpoint never resolves (.invalid): if the
# in-process transport were ever left out, the request fails instead of reaching anyone.
SANDBOX_ENDPOINT = "https://dysmsapi.sandbox.ihos.invalid/"
SANDBOX_ACCESS_KEY_ID = "LTAIsandbox000000000000"
SANDBOX_ACCESS_KEY_SECRET = "ihos-sandbox-sms-secret"
SANDBOX_TEMPLATE_CODES = {name: f"SMS_9000000{n:02d}" for n, name in enumerate(sorted(TEMPLATES), 1)}

# Aliyun refuses requests whose timestamp is further than this from its clock.
TIMESTAMP_TOLERANCE = timedelta(minutes=15)
_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def sandbox_config() -> AliyunSmsConfig:
    return AliyunSmsConfig(
        access_key_id=SANDBOX_ACCESS_KEY_ID,
        access_key_secret=SANDBOX_ACCESS_KEY_SECRET,
        template_codes=SANDBOX_TEMPLATE_CODES,
        sign_name=SIGN_NAME,
        endpoint=SANDBOX_ENDPOINT,
    )


class SmsSandboxControl:
    """Switches the sandbox's failure mode at run time; when set, it wins over the setting."""

    def __init__(self) -> None:
        self.failure_mode: FailureMode | None = None

    @contextmanager
    def failing(self, mode: FailureMode) -> Iterator[None]:
        previous, self.failure_mode = self.failure_mode, mode
        try:
            yield
        finally:
            self.failure_mode = previous


control = SmsSandboxControl()


def normalise_phone(value: str) -> str | None:
    """The 11-digit mainland number, accepting Aliyun's prefixes (+86, 0086, 86), or None."""
    number = value.strip().replace(" ", "").replace("-", "")
    for prefix in ("+86", "0086", "86"):
        if number.startswith(prefix) and len(number) == len(prefix) + 11:
            number = number[len(prefix) :]
            break
    return number if _MAINLAND_MOBILE.match(number) else None


def phone_index(phone: str) -> str:
    return blind_index(phone, kind="phone")


class AliyunSmsSandbox:
    """The fake gateway. ``transport()`` plugs it under an ``AliyunSmsGateway``."""

    def __init__(
        self, session: AsyncSession, *, settings: SmsSandboxSettings, config: AliyunSmsConfig | None = None
    ) -> None:
        self.session = session
        self.settings = settings
        self.config = config or sandbox_config()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        request_id = str(uuid.uuid4()).upper()
        params = _request_params(request)
        mode = control.failure_mode or self.settings.failure_mode
        if mode == "timeout":
            raise httpx.ReadTimeout("sandbox: simulated timeout", request=request)
        if mode == "unavailable":
            return _reply(
                503, "ServiceUnavailable", "The request has failed due to a temporary failure.", request_id
            )
        refusal = self._authenticate(request.method, params)
        if refusal is not None:
            return _reply(*refusal, request_id)
        if mode == "reject":
            return _reply(200, "isv.OUT_OF_SERVICE", "业务停机", request_id)
        try:
            message = await self._accept(request, params)
        except SmsError as exc:
            return _reply(200, exc.code, exc.message, request_id)
        return _reply(200, "OK", "OK", request_id, biz_id=message.message_id)

    def _authenticate(self, method: str, params: dict[str, str]) -> tuple[int, str, str] | None:
        if params.get("AccessKeyId") != self.config.access_key_id:
            return 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
        expected = sign(method, params, self.config.access_key_secret)
        if not hmac.compare_digest(expected, params.get("Signature", "")):
            return 400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."
        try:
            sent = datetime.strptime(params.get("Timestamp", ""), TIMESTAMP_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            return 400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
        if abs(now() - sent) > TIMESTAMP_TOLERANCE:
            return 400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
        if params.get("Action") != "SendSms" or params.get("Version") != API_VERSION:
            return (
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            )
        return None

    async def _accept(self, request: httpx.Request, params: dict[str, str]) -> SandboxSmsMessage:
        if params.get("SignName") != self.config.sign_name:
            raise SmsError("isv.SMS_SIGNATURE_ILLEGAL", "签名不合法", retryable=False)
        name = _template_name(self.config, params.get("TemplateCode", ""))
        template_params = _template_params(params.get("TemplateParam", "{}"))
        text = render(name, template_params, sign_name=self.config.sign_name)
        phone = normalise_phone(params.get("PhoneNumbers", ""))
        if phone is None:
            raise SmsError("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号", retryable=False)
        failing = FAILING_NUMBERS.get(phone)
        if failing == "timeout":
            raise httpx.ReadTimeout("sandbox: simulated timeout", request=request)
        if failing == "unavailable":
            raise SmsError("isp.SYSTEM_ERROR", "系统错误", retryable=True)
        if failing == "reject":
            raise SmsError("isv.OUT_OF_SERVICE", "业务停机", retryable=False)
        category = TEMPLATES[name].category
        await self._check_limits(phone, category)
        return await self._record(phone, name, params["TemplateCode"], category, text, template_params)

    async def _check_limits(self, phone: str, category: str) -> None:
        # Counted, not reserved: two concurrent sends can both pass. This is a counterpart's rule
        # for testing callers; ihos enforces its own limits before it ever calls a gateway.
        moment = now()
        day_start = start_of_local_day()
        rows = await self.session.scalars(
            select(SandboxSmsMessage.sent_at).where(
                SandboxSmsMessage.phone_index == phone_index(phone),
                SandboxSmsMessage.category == category,
                SandboxSmsMessage.sent_at >= min(day_start, moment - timedelta(hours=1)),
            )
        )
        sent = list(rows)
        limits = [("天级", day_start, self._day_limit(category))]
        if category == "verification":
            limits += [
                ("分钟级", moment - timedelta(minutes=1), self.settings.verification_per_minute),
                ("小时级", moment - timedelta(hours=1), self.settings.verification_per_hour),
            ]
        for label, since, permits in limits:
            if sum(1 for at in sent if at > since) >= permits:
                log.info("sandbox SMS to %s refused by flow control", mask_phone(phone))
                raise SmsError(
                    "isv.BUSINESS_LIMIT_CONTROL", f"触发{label}流控Permits:{permits}", retryable=False
                )

    def _day_limit(self, category: str) -> int:
        if category == "verification":
            return self.settings.verification_per_day
        return self.settings.notice_per_day

    async def _record(
        self, phone: str, name: str, template_code: str, category: str, text: str, params: dict[str, str]
    ) -> SandboxSmsMessage:
        message = SandboxSmsMessage(
            phone=phone,
            phone_index=phone_index(phone),
            phone_masked=mask_phone(phone),
            template=name,
            template_code=template_code,
            category=category,
            sign_name=self.config.sign_name,
            text=text,
            params=params,
            message_id=f"{digits(18)}^0",
            sent_at=now(),
        )
        self.session.add(message)
        await self.session.flush()
        log.info("sandbox SMS %s to %s: %s", name, message.phone_masked, message.message_id)
        return message


@dataclass(frozen=True)
class InboxMessage:
    """One message of the sandbox inbox as the console shows it (the number masked)."""

    id: uuid.UUID
    phone_masked: str
    template: str
    text: str
    params: dict[str, Any]
    message_id: str
    sent_at: datetime


async def list_inbox(
    session: AsyncSession, *, phone: str | None = None, limit: int = 20
) -> list[InboxMessage]:
    """The newest messages first, all of them or those to one number (a malformed number has none)."""
    query = select(SandboxSmsMessage).order_by(SandboxSmsMessage.sent_at.desc()).limit(limit)
    if phone is not None:
        number = normalise_phone(phone)
        if number is None:
            return []
        query = query.where(SandboxSmsMessage.phone_index == phone_index(number))
    messages = await session.scalars(query)
    return [
        InboxMessage(
            id=message.id,
            phone_masked=message.phone_masked,
            template=message.template,
            text=message.text,
            params=dict(message.params),
            message_id=message.message_id,
            sent_at=message.sent_at,
        )
        for message in messages
    ]


def _request_params(request: httpx.Request) -> dict[str, str]:
    params = dict(request.url.params)
    if request.method == "POST":
        params.update(parse_qsl(request.content.decode(), keep_blank_values=True))
    return params


def _template_name(config: AliyunSmsConfig, template_code: str) -> str:
    for name, code in config.template_codes.items():
        if code == template_code:
            return name
    raise SmsError("isv.SMS_TEMPLATE_ILLEGAL", "模板不合法(不存在或被拉黑)", retryable=False)


def _template_params(raw: str) -> dict[str, str]:
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise SmsError("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值", retryable=False)
    return value


def _reply(
    status: int, code: str, message: str, request_id: str, *, biz_id: str | None = None
) -> httpx.Response:
    body: dict[str, str] = {"Code": code, "Message": message, "RequestId": request_id}
    if biz_id is not None:
        body["BizId"] = biz_id
    return httpx.Response(status, json=body)
