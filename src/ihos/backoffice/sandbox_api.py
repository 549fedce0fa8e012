"""Demo mode only: what the sandboxes hold, so a person trying ihos can read the SMS code that a real
phone would have received, mint the codes that wx.login / my.getAuthCode would give, and make the
clinic bills that a doctor's orders make in the HIS.

Every route answers 404 unless ``IHOS_DEMO`` is on and the counterpart in question is its sandbox;
never turn demo mode on in production.
"""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import AwareDatetime, Field
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.billing import channels
from ihos.billing import sandbox as billing_sandbox
from ihos.billing import service as billing
from ihos.config import get_settings
from ihos.errors import InvalidInput, NotFound
from ihos.integrations.alipay import issue_sandbox_auth_code
from ihos.integrations.his import ClinicBillLine, create_clinic_bill
from ihos.integrations.sms import list_inbox
from ihos.integrations.wechat import issue_sandbox_code
from ihos.kit.http import DbSession
from ihos.kit.schema import Payload, Schema
from ihos.models.billing import Order

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


class HisBillLineIn(Payload):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=1, le=10_000)
    unit_price_fen: int = Field(ge=0, le=100_000_000)


class HisBillIn(Payload):
    """What the doctor ordered: the sandbox HIS prices it line by line, as the HIS does."""

    patient_id_number: str = Field(min_length=15, max_length=20)
    department: str = Field(min_length=1, max_length=100)
    doctor: str = Field(min_length=1, max_length=50)
    lines: list[HisBillLineIn] = Field(min_length=1, max_length=200)


class HisBillOut(Schema):
    his_bill_id: str
    department: str
    doctor: str
    total_fen: int
    created_at: AwareDatetime


class InvalidHisBill(InvalidInput):
    code = "invalid_his_bill"
    default_message = "沙箱 HIS 不能开具这张费用单"


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


@router.post(
    "/his/clinic-bills",
    status_code=201,
    response_model=HisBillOut,
    summary="模拟医生开单：在沙箱 HIS 中生成诊间待缴费用（演示模式）",
)
async def his_clinic_bill(body: HisBillIn, session: DbSession) -> HisBillOut:
    """The bill is made in the sandbox HIS only, as a doctor's orders make it in a hospital: it reaches the
    patient's 待缴费 when the app refreshes the list from the HIS (and is not pushed, so no SMS is sent)."""
    _require_sandbox(get_settings().integrations.his.provider)
    lines = [
        ClinicBillLine(
            line.code, line.name, line.quantity, line.unit_price_fen, line.quantity * line.unit_price_fen
        )
        for line in body.lines
    ]
    try:
        bill = await create_clinic_bill(session, body.patient_id_number, lines, body.department, body.doctor)
    except ValueError as exc:
        raise InvalidHisBill(str(exc)) from exc
    return HisBillOut(
        his_bill_id=bill.his_bill_id,
        department=bill.department,
        doctor=bill.doctor,
        total_fen=bill.total_fen,
        created_at=bill.created_at,
    )


# The demo's cashier: in demo mode an H5 payment opens this page instead of the channel's, and
# "确认支付" makes the channel's sandbox pay, so its signed notification reaches ihos as the real one would.

_CASHIER_PAGE = Template((Path(__file__).parent / "cashier.html").read_text(encoding="utf-8"))


def _safe_return(return_to: str | None) -> str:
    # Only back into the patient app: an open redirect would let a link send patients anywhere.
    return return_to if return_to and return_to.startswith("/h5/") and "//" not in return_to else "/h5/"


@router.get("/cashier/{order_number}", response_class=HTMLResponse, summary="演示收银台（演示模式）")
async def cashier(
    order_number: str, session: DbSession, return_to: Annotated[str | None, Query(max_length=300)] = None
) -> HTMLResponse:
    order, channel = await _cashier_order(session, order_number)
    page = _CASHIER_PAGE.substitute(
        channel_name=html.escape(channels.NAMES.get(channel, channel)),
        description=html.escape(order.description),
        amount=f"{order.payable_fen / 100:.2f}",
        order_number=html.escape(order.order_number),
        return_to=html.escape(_safe_return(return_to)),
    )
    return HTMLResponse(page)


@router.post("/cashier/{order_number}", summary="演示收银台：确认支付（演示模式）")
async def cashier_pay(order_number: str, request: Request, session: DbSession) -> RedirectResponse:
    _order, channel = await _cashier_order(session, order_number)
    form = parse_qs((await request.body()).decode())
    await billing_sandbox.simulate_payment(session, channel, order_number)
    return_to = _safe_return(form.get("return_to", [None])[0])
    return RedirectResponse(return_to, status_code=303)


async def _cashier_order(session: AsyncSession, order_number: str) -> tuple[Order, str]:
    if not get_settings().demo:
        raise NotFound()
    order = await billing.order_by_number(session, order_number)
    attempt = await billing.current_attempt(session, order) if order else None
    if order is None or attempt is None:
        raise NotFound("订单不存在或尚未选择支付方式")
    return order, attempt.channel
