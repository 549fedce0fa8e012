"""The payment channels the hospital enabled, and the adapter behind each name."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.config import get_settings
from ihos.errors import InvalidInput
from ihos.integrations.payment.base import PaymentChannel
from ihos.models.billing import PaymentChannelSetting

NAMES = {"wechat": "微信支付", "alipay": "支付宝", "unionpay": "银联云闪付", "insurance": "医保移动支付"}

# name → (module, factory, settings attribute of IntegrationSettings)
_FACTORIES = {
    "wechat": ("ihos.integrations.payment.wechat", "wechat_pay_channel", "wechat_pay"),
    "alipay": ("ihos.integrations.payment.alipay", "alipay_channel", "alipay_pay"),
    "unionpay": ("ihos.integrations.payment.unionpay", "unionpay_channel", "unionpay"),
    "insurance": ("ihos.integrations.payment.insurance", "insurance_channel", "insurance"),
}


class ChannelNotAvailable(InvalidInput):
    code = "channel_not_available"
    default_message = "该支付方式暂不可用，请选择其他支付方式"


def get_channel(name: str, session: AsyncSession) -> PaymentChannel:
    """The adapter for ``name``, sandbox or live as configured (a sandbox keeps its ledger in ``session``)."""
    if name not in _FACTORIES:
        raise ChannelNotAvailable()
    module, factory, setting = _FACTORIES[name]
    make = getattr(importlib.import_module(module), factory)
    extra = {"references": _insurance_references(session)} if name == "insurance" else {}
    channel: PaymentChannel = make(session, getattr(get_settings().integrations, setting), **extra)
    return channel


def _insurance_references(session: AsyncSession):  # type: ignore[no-untyped-def]
    """How the insurance platform knows an order again (payOrdId, payToken from 6201, and the insured)."""
    from ihos.integrations.payment.insurance.channel import PayOrderReference
    from ihos.models.billing import Order
    from ihos.models.patients import Patient

    async def lookup(order_number: str) -> PayOrderReference | None:
        order = await session.scalar(select(Order).where(Order.order_number == order_number))
        if order is None or "payOrdId" not in order.insurance_settlement:
            return None
        patient = await session.get(Patient, order.patient_id) if order.patient_id else None
        return PayOrderReference(
            pay_order_id=order.insurance_settlement["payOrdId"],
            pay_token=order.insurance_settlement.get("payToken", ""),
            insured_name=patient.name if patient else "",
            insured_id_number=patient.id_number if patient else "",
        )

    return lookup


async def enabled(session: AsyncSession) -> Sequence[PaymentChannelSetting]:
    return (
        await session.scalars(
            select(PaymentChannelSetting)
            .where(PaymentChannelSetting.is_enabled)
            .order_by(PaymentChannelSetting.sort_order)
        )
    ).all()


async def check_enabled(session: AsyncSession, name: str) -> None:
    setting = await session.get(PaymentChannelSetting, name)
    if setting is None or not setting.is_enabled:
        raise ChannelNotAvailable()
