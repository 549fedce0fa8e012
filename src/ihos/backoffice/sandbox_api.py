"""Demo mode only: what the sandboxes hold, so a person trying ihos can read the SMS code that a real
phone would have received and mint the codes that wx.login / my.getAuthCode would give.

Every route answers 404 unless ``IHOS_DEMO`` is on and the counterpart in question is its sandbox;
never turn demo mode on in production.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from ihos.config import get_settings
from ihos.errors import NotFound
from ihos.integrations.alipay import issue_sandbox_auth_code
from ihos.integrations.sms import list_inbox
from ihos.integrations.wechat import issue_sandbox_code
from ihos.kit.http import DbSession
from ihos.kit.schema import Payload, Schema

router = APIRouter(prefix="/sandbox", tags=["sandbox"])


class InboxMessageOut(Schema):
    phone: str = Field(description="脱敏")
    text: str
    template: str
    sent_at: datetime


class CodeRequest(Payload):
    user_hint: str | None = Field(default=None, max_length=40, description="同一提示得到同一用户")


class IssuedCode(Schema):
    code: str


def _require_sandbox(provider: str) -> None:
    settings = get_settings()
    if not settings.demo or provider != "sandbox":
        raise NotFound()


@router.get("/sms", response_model=list[InboxMessageOut], summary="短信沙箱收件箱（演示模式）")
async def sms_inbox(
    session: DbSession,
    phone: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[InboxMessageOut]:
    _require_sandbox(get_settings().integrations.sms.provider)
    messages = await list_inbox(session, phone=phone, limit=limit)
    return [
        InboxMessageOut(phone=m.phone_masked, text=m.text, template=m.template, sent_at=m.sent_at)
        for m in messages
    ]


@router.post("/wechat/login", response_model=IssuedCode, summary="模拟 wx.login 获取 code（演示模式）")
async def wechat_login(body: CodeRequest, session: DbSession) -> IssuedCode:
    _require_sandbox(get_settings().integrations.wechat.provider)
    return IssuedCode(code=await issue_sandbox_code(session, body.user_hint))


@router.post(
    "/alipay/auth-code", response_model=IssuedCode, summary="模拟 my.getAuthCode 获取 authCode（演示模式）"
)
async def alipay_auth_code(body: CodeRequest, session: DbSession) -> IssuedCode:
    _require_sandbox(get_settings().integrations.alipay.provider)
    return IssuedCode(code=await issue_sandbox_auth_code(session, body.user_hint))
