"""Shared setup for the WeChat Pay tests: a prepay through the real channel, the sandbox behind it,
and the notifications the courier delivered."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from ihos.integrations.payment.base import Payer, Prepay, PrepayRequest, RefundRequest, Scene
from ihos.integrations.payment.wechat import WeChatPayChannel, WeChatPaySandbox
from ihos.kit.time import now

NOTIFY_URL = "https://ihos.example.cn/api/v1/payments/notifications/wechat"
OPENID = "oSandboxPatient000000000001"
_numbers = itertools.count(1)


def order_number() -> str:
    return f"WX{now():%Y%m%d%H%M%S}{next(_numbers):06d}"


def prepay_request(
    number: str | None = None,
    *,
    amount_fen: int = 2500,
    scene: Scene = "mini_program",
    payer: Payer | None = None,
    expires_in: timedelta = timedelta(minutes=30),
    description: str = "互联网医院-图文问诊",
) -> PrepayRequest:
    return PrepayRequest(
        order_number=number or order_number(),
        description=description,
        amount_fen=amount_fen,
        expires_at=now() + expires_in,
        scene=scene,
        notify_url=NOTIFY_URL,
        payer=payer or Payer(wechat_openid=OPENID, client_address="203.0.113.10"),
    )


def refund_request(
    order: str, number: str, *, amount_fen: int = 1000, total_fen: int = 2500
) -> RefundRequest:
    return RefundRequest(
        refund_number=number,
        order_number=order,
        transaction_id=None,
        amount_fen=amount_fen,
        order_total_fen=total_fen,
        reason="患者取消问诊",
        notify_url=NOTIFY_URL + "/refunds",
    )


@dataclass
class Paid:
    order_number: str
    prepay: Prepay
    transaction_id: str


async def paid_order(channel: WeChatPayChannel, sandbox: WeChatPaySandbox, *, amount_fen: int = 2500) -> Paid:
    request = prepay_request(amount_fen=amount_fen)
    prepay = await channel.create_prepay(request)
    payment = await sandbox.simulate_payment(request.order_number)
    return Paid(request.order_number, prepay, payment.transaction_id)


@dataclass
class Delivered:
    """One POST the courier made, as the notification endpoint would receive it."""

    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def envelope(self) -> dict[str, Any]:
        return json.loads(self.body)


def delivered(request: httpx.Request) -> Delivered:
    return Delivered(str(request.url), dict(request.headers), request.content)
