"""SMS gateway (短信平台): ``get_sms_gateway(session)`` gives the configured one.

``aliyun`` is Aliyun's dysmsapi; ``sandbox`` (the default) is the same client talking to an
in-process fake Aliyun that keeps an inbox (``list_inbox``) instead of reaching a phone.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.config import get_settings
from ihos.integrations.settings import SmsSettings
from ihos.integrations.sms.aliyun import AliyunSmsConfig, AliyunSmsGateway
from ihos.integrations.sms.base import SmsError, SmsGateway, SmsReceipt
from ihos.integrations.sms.sandbox import AliyunSmsSandbox, InboxMessage, list_inbox, sandbox_config
from ihos.integrations.sms.templates import SIGN_NAME, TEMPLATES, render

__all__ = [
    "SIGN_NAME",
    "TEMPLATES",
    "InboxMessage",
    "SmsError",
    "SmsGateway",
    "SmsReceipt",
    "get_sms_gateway",
    "list_inbox",
    "render",
]


def get_sms_gateway(session: AsyncSession, *, settings: SmsSettings | None = None) -> SmsGateway:
    """The gateway for one use. ``session`` is the caller's transaction; only the sandbox writes to it
    (its inbox), so obtain the gateway inside the transaction that sends, e.g. in the job handler."""
    settings = settings or get_settings().integrations.sms
    if settings.provider == "aliyun":
        return AliyunSmsGateway(aliyun_config(settings), timeout=settings.timeout_seconds)
    sandbox = AliyunSmsSandbox(session, settings=settings.sandbox, config=sandbox_config())
    return AliyunSmsGateway(sandbox.config, timeout=settings.timeout_seconds, transport=sandbox.transport())


def aliyun_config(settings: SmsSettings) -> AliyunSmsConfig:
    aliyun = settings.aliyun
    return AliyunSmsConfig(
        access_key_id=aliyun.access_key_id,
        access_key_secret=aliyun.access_key_secret.get_secret_value(),
        template_codes=dict(aliyun.template_codes),
        sign_name=aliyun.sign_name or SIGN_NAME,
        endpoint=aliyun.endpoint,
        region_id=aliyun.region_id,
    )
