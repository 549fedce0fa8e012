"""The payment sandboxes from billing's side: "the patient paid in the channel's app", for the demo's H5
cashier and for tests. Each channel's sandbox records the payment in its own ledger and queues its
signed notification, which reaches ihos exactly as the real channel's would."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.config import get_settings


async def simulate_payment(
    session: AsyncSession, channel: str, order_number: str, *, amount_fen: int | None = None
) -> None:
    integrations = get_settings().integrations
    if channel == "wechat":
        from ihos.integrations.payment import wechat

        await wechat.simulate_payment(
            session, order_number, settings=integrations.wechat_pay, amount_fen=amount_fen
        )
    elif channel == "alipay":
        from ihos.integrations.payment import alipay

        await alipay.simulate_payment(session, order_number, settings=integrations.alipay_pay)
    elif channel == "unionpay":
        from ihos.integrations.payment import unionpay

        await unionpay.simulate_payment(session, order_number, settings=integrations.unionpay)
    elif channel == "insurance":
        from ihos.integrations.payment.insurance.sandbox import simulate_payment as settle

        await settle(session, order_number, settings=integrations.insurance.sandbox)
    else:
        raise ValueError(f"no sandbox for channel {channel!r}")


def reset_controls() -> None:
    """Put every payment, HIS and pricing sandbox switch back to normal (tests, the demo console)."""
    from ihos.integrations.his.sandbox import control as his
    from ihos.integrations.payment.alipay.sandbox import control as alipay
    from ihos.integrations.payment.insurance.sandbox import control as insurance
    from ihos.integrations.payment.unionpay.sandbox import control as unionpay
    from ihos.integrations.payment.wechat.sandbox import control as wechat
    from ihos.integrations.pricing.sandbox import control as pricing

    for control in (his, alipay, insurance, unionpay, wechat, pricing):
        control.reset()
