"""Orders and payments: create an order at the hospital's price, pay it through a channel, and turn
what channels say (notifications and active queries, through one code path) into order state.

Every transition is a conditional UPDATE on the current state checked by row count, so two notifications,
or a notification racing the hold-time sweeper, cannot both win; the loser records what it saw (a late
or second payment becomes an anomaly and is refunded automatically). The business (a booking, a clinic
bill) counts as paid only after the HIS confirms the write-back, which runs from the outbox with retries.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.backoffice.rules import get_rule
from ihos.billing import anomalies, channels, numbers, repository
from ihos.config import get_settings
from ihos.db import insert_unique
from ihos.errors import Conflict, Forbidden, NotFound, Recorder, ServiceUnavailable
from ihos.integrations.payment.base import (
    Acknowledgement,
    ChannelError,
    FeeLine,
    InsuranceClaim,
    NotificationRejected,
    NotificationReplayed,
    Payer,
    PaymentResult,
    Prepay,
    PrepayRequest,
    Scene,
)
from ihos.integrations.pricing import pricing_service
from ihos.integrations.pricing.base import PricedItem, PricingError
from ihos.jobs import enqueue
from ihos.kit.time import now
from ihos.models.accounts import Account
from ihos.models.billing import ChannelNotification, Order, OrderLine, Payment, PaymentAttempt
from ihos.models.patients import Patient
from ihos.realtime import publish_after_commit

SYSTEM = Caller(kind="system", label="支付系统")
HIS_WRITE_BACK_JOB = "billing.his_write_back"
PAYABLE_STATES = ("created", "paying")
PAID_STATES = ("paid", "partially_refunded", "refunded")


class OrderNotFound(NotFound):
    code = "order_not_found"
    default_message = "订单不存在"


class OrderNotPayable(Conflict):
    code = "order_not_payable"
    default_message = "订单当前状态不能支付"


class OrderExpired(Conflict):
    code = "order_expired"
    default_message = "订单已超过支付时间，已关闭，请重新下单"


class RealNameRequired(Forbidden):
    code = "real_name_required"
    default_message = "使用医保支付前，请先完成实名认证"


class PaymentUnavailable(ServiceUnavailable):
    code = "payment_unavailable"
    default_message = "支付服务暂时不可用，请稍后再试或换一种支付方式"


class PricingUnavailable(ServiceUnavailable):
    code = "pricing_unavailable"
    default_message = "暂时无法计算费用，请稍后再试"


class PayerMismatch(Forbidden):
    code = "payer_mismatch"
    default_message = "付款账户与当前登录的账户不符，请重新登录后再支付"


class MiniProgramSignInRequired(Conflict):
    code = "mini_program_sign_in_required"
    default_message = "请在小程序中登录后再支付"


class InsuranceRefused(Conflict):
    code = "insurance_refused"
    default_message = "医保未受理本次支付，请使用自费支付"


# What a mini-program payment needs to name the payer, per channel: the sign-in provider whose id the
# channel takes, what to tell a patient who did not sign in that way, and what to tell a system client.
MINI_PROGRAM_PAYERS = {
    "wechat": ("wechat", "请在微信小程序中登录后再支付", "小程序支付须提供付款人的微信 openid"),
    "alipay": ("alipay", "请在支付宝小程序中登录后再支付", "小程序支付须提供付款人的支付宝用户标识"),
}
MINI_PROGRAM_SCENES = ("mini_program", "jsapi")
# Insurance refusals the patient can act on (use self-pay, authorise again): said as the insurance says
# them, not as "unavailable".
INSURANCE_REFUSALS = frozenset({"not_insured", "name_mismatch", "authorisation_invalid"})


@dataclass(frozen=True)
class LineIn:
    item_code: str
    name: str
    quantity: int
    unit_price_fen: int


# What each business does once its order is paid (a booking secures its slot at once), and once the HIS
# has confirmed the write-back (a clinic bill is settled, a registration gets its HIS number).
BusinessHook = Callable[[AsyncSession, Order], Awaitable[None]]
_on_paid: dict[str, BusinessHook] = {}
_on_confirmed: dict[str, BusinessHook] = {}


def on_paid(business_kind: str) -> Callable[[BusinessHook], BusinessHook]:
    def register(hook: BusinessHook) -> BusinessHook:
        _on_paid[business_kind] = hook
        return hook

    return register


def on_paid_and_confirmed(business_kind: str) -> Callable[[BusinessHook], BusinessHook]:
    def register(hook: BusinessHook) -> BusinessHook:
        _on_confirmed[business_kind] = hook
        return hook

    return register


# ---------------------------------------------------------------------------------------------
# orders


async def create_order(
    session: AsyncSession,
    caller: Caller,
    *,
    account_id: uuid.UUID | None,
    patient: Patient,
    business_kind: str,
    business_reference: str | None,
    description: str,
    lines: Sequence[LineIn],
    insured: bool = False,
    expires_at: datetime | None = None,
) -> Order:
    """An order priced by the hospital's intranet pricing service (SY-01: amounts only, never why)."""
    items = tuple(PricedItem(line.item_code, line.name, line.quantity, line.unit_price_fen) for line in lines)
    try:
        quote = await pricing_service(get_settings().integrations.pricing).quote(
            patient_id_number=patient.id_number, patient_name=patient.name, items=items, insured=insured
        )
    except PricingError as exc:
        raise PricingUnavailable() from exc
    hold = timedelta(minutes=await get_rule(session, "order.hold_minutes"))
    order = Order(
        account_id=account_id,
        patient_id=patient.id,
        business_kind=business_kind,
        business_reference=business_reference,
        description=description[:128],
        total_fen=quote.total_fen,
        discount_fen=quote.discount_fen,
        payable_fen=quote.total_fen - quote.discount_fen,
        insurance_fund_fen=quote.insurance_fund_fen,
        personal_account_fen=quote.personal_account_fen,
        self_pay_fen=quote.self_pay_fen,
        is_insured=quote.is_insured,
        quote_id=quote.quote_id,
        # An order for a held place must not outlive the hold: the caller gives the hold's end.
        expires_at=min(expires_at, now() + hold) if expires_at else now() + hold,
    )
    await numbers.insert_numbered(session, order, "order_number", numbers.order_number)
    for line in lines:
        session.add(
            OrderLine(
                order_id=order.id,
                item_code=line.item_code,
                name=line.name,
                quantity=line.quantity,
                unit_price_fen=line.unit_price_fen,
                amount_fen=line.unit_price_fen * line.quantity,
            )
        )
    await session.flush()
    await audit.record(
        session,
        caller,
        "order.create",
        target_kind="orders",
        target_id=order.order_number,
        details={
            "business_kind": business_kind,
            "total_fen": order.total_fen,
            "payable_fen": order.payable_fen,
        },
    )
    return order


async def order_by_number(session: AsyncSession, order_number: str) -> Order | None:
    return await session.scalar(select(Order).where(Order.order_number == order_number))


async def own_order(session: AsyncSession, caller: Caller, order_number: str) -> Order:
    """An order of the calling patient's account (or any order for a system client)."""
    order = await order_by_number(session, order_number)
    if order is None or (caller.is_patient and order.account_id != caller.id):
        raise OrderNotFound()
    return order


# ---------------------------------------------------------------------------------------------
# paying


def notify_url(channel: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/api/v1/payments/notifications/{channel}"


async def pay(
    session: AsyncSession,
    caller: Caller,
    *,
    order_number: str,
    channel_name: str,
    scene: Scene,
    payer: Payer,
    insurance_authorisation: str | None = None,
) -> Prepay:
    """Ask the channel for a prepay (what the app needs to open the channel's payment screen)."""
    order = await own_order(session, caller, order_number)
    await channels.check_enabled(session, channel_name)
    if order.state not in PAYABLE_STATES:
        raise OrderNotPayable()
    if order.expires_at <= now():
        raise OrderExpired()
    payer = await _payer(session, caller, payer, channel_name=channel_name, scene=scene)
    channel = channels.get_channel(channel_name, session)
    claim = (
        await _insurance_claim(session, order, insurance_authorisation)
        if channel_name == "insurance"
        else None
    )
    await _leave_other_channel(session, order, channel_name)
    request = PrepayRequest(
        order_number=order.order_number,
        description=order.description,
        amount_fen=order.payable_fen,
        expires_at=order.expires_at,
        scene=scene,
        notify_url=notify_url(channel_name),
        payer=payer,
        insurance=claim,
    )
    try:
        prepay = await channel.create_prepay(request)
    except ChannelError as exc:
        if channel_name == "insurance" and exc.code in INSURANCE_REFUSALS:
            raise InsuranceRefused(exc.message, details={"channel_code": exc.code}) from exc
        raise PaymentUnavailable(details={"channel_code": exc.code}) from exc
    if prepay.insurance is not None:
        # The split is what the insurance answered (6202), never what the client or the quote said.
        order.is_insured = True
        order.insurance_fund_fen = prepay.insurance.fund_fen
        order.personal_account_fen = prepay.insurance.personal_account_fen
        order.self_pay_fen = prepay.insurance.self_pay_fen
        order.insurance_settlement = {
            "settlement_id": prepay.insurance.settlement_id,
            **prepay.insurance.fields,
        }
    dropped_split = prepay.insurance is None and order.is_insured
    if dropped_split:
        _drop_insurance_split(order)
    session.add(
        PaymentAttempt(
            order_id=order.id, channel=channel_name, scene=scene, channel_reference=prepay.channel_reference
        )
    )
    await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.state == "created")
        .values(state="paying")
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    await audit.record(
        session,
        caller,
        "order.pay",
        target_kind="orders",
        target_id=order.order_number,
        details={"channel": channel_name, "scene": scene}
        | ({"insurance_split_dropped": True} if dropped_split else {}),
    )
    return prepay


async def _payer(
    session: AsyncSession, caller: Caller, given: Payer, *, channel_name: str, scene: Scene
) -> Payer:
    """Who pays, as the channel knows them. A patient pays as the account they signed in with: its
    WeChat openid or Alipay user id come from their sign-in, never from the app (an id of someone else's
    is refused). A system client names the payer itself."""
    payer = given
    if caller.is_patient:
        own = await repository.external_logins(session, caller.subject_id)
        for provider, sent in (("wechat", given.wechat_openid), ("alipay", given.alipay_user_id)):
            if sent and sent != own.get(provider):
                raise PayerMismatch()
        payer = Payer(
            wechat_openid=own.get("wechat"),
            alipay_user_id=own.get("alipay"),
            client_address=given.client_address,
        )
    needed = MINI_PROGRAM_PAYERS.get(channel_name)
    if scene in MINI_PROGRAM_SCENES and needed is not None:
        provider, to_patient, to_system = needed
        if not (payer.wechat_openid if provider == "wechat" else payer.alipay_user_id):
            raise MiniProgramSignInRequired(to_patient if caller.is_patient else to_system)
    return payer


def _drop_insurance_split(order: Order) -> None:
    """Another channel collects the whole payable amount: the split an earlier insurance attempt answered
    no longer describes the order. The platform's references (payOrdId, payToken) stay, so that the
    insurance order can still be queried, closed or refunded."""
    order.is_insured = False
    order.insurance_fund_fen = 0
    order.personal_account_fen = 0
    order.self_pay_fen = order.payable_fen


def spread_discount(amounts: Sequence[int], discount_fen: int) -> list[int]:
    """Each line's amount after the hospital's discount, shared out in proportion to the lines (largest
    remainder), so the lines add up to what is payable: the insurance checks that they do."""
    total = sum(amounts)
    if discount_fen <= 0 or total == 0:
        return list(amounts)
    shares = [amount * discount_fen // total for amount in amounts]
    remainders = sorted(range(len(amounts)), key=lambda i: (amounts[i] * discount_fen) % total, reverse=True)
    for index in remainders[: discount_fen - sum(shares)]:
        shares[index] += 1
    return [amount - share for amount, share in zip(amounts, shares, strict=True)]


async def _insurance_claim(session: AsyncSession, order: Order, authorisation: str | None) -> InsuranceClaim:
    patient = await session.get(Patient, order.patient_id) if order.patient_id else None
    account = await session.get(Account, order.account_id) if order.account_id else None
    if (
        patient is None
        or patient.identity_status != "verified"
        or (account and account.real_name_status != "verified")
    ):
        raise RealNameRequired()
    lines = (await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).all()
    amounts = spread_discount([line.amount_fen for line in lines], order.discount_fen)
    return InsuranceClaim(
        insured_name=patient.name,
        insured_id_number=patient.id_number,
        medical_type="11",
        fee_lines=tuple(
            FeeLine(line.item_code, line.name, str(line.quantity), line.unit_price_fen, amount)
            for line, amount in zip(lines, amounts, strict=True)
        ),
        authorisation=authorisation,
    )


async def _leave_other_channel(session: AsyncSession, order: Order, channel_name: str) -> None:
    """Switching channel: close the order at the channel tried before, so the patient cannot pay twice.

    If that channel says it was paid after all, the payment is recorded and the switch refused.
    """
    attempts = (
        await session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.order_id == order.id, PaymentAttempt.is_current)
        )
    ).all()
    for attempt in attempts:
        attempt.is_current = False
        if attempt.channel == channel_name:
            continue
        previous = channels.get_channel(attempt.channel, session)
        try:
            result = await previous.query_payment(order.order_number)
            if result.state != "paid":
                await previous.close(order.order_number)
                continue
        except ChannelError as exc:
            raise PaymentUnavailable("暂时无法切换支付方式，请稍后再试") from exc
        # The refusal rolls this request back; the payment is recorded after the rollback.
        raise OrderNotPayable("该订单已在其他渠道支付成功", record=_recorder(attempt.channel, result))


def _recorder(channel: str, result: PaymentResult) -> Recorder:
    async def record(session: AsyncSession) -> None:
        await record_payment(session, channel=channel, result=result, source="query")

    return record


# ---------------------------------------------------------------------------------------------
# what channels say


async def receive_notification(
    session: AsyncSession, channel_name: str, *, headers: Mapping[str, str], body: bytes
) -> Acknowledgement:
    """A channel's notification: verify, keep it raw, ignore a duplicate, then apply it once."""
    channel = channels.get_channel(channel_name, session)
    received = ChannelNotification(
        channel=channel_name,
        received_at=now(),
        headers=dict(headers),
        body=body.decode("utf-8", "replace"),
        is_verified=False,
    )
    try:
        verified = await channel.parse_notification(headers, body)
    except NotificationReplayed:
        return channel.acknowledge(accepted=True)  # genuine and already applied: stop the resends
    except NotificationRejected as exc:
        received.rejection_reason = exc.reason[:200]
        session.add(received)
        await session.flush()
        return channel.acknowledge(accepted=False)
    received.is_verified = True
    received.notification_id = verified.notification_id
    received.kind = verified.kind
    if not await insert_unique(session, received):
        return channel.acknowledge(accepted=True)  # a duplicate: applied once already
    if verified.payment is not None:
        received.order_number = verified.payment.order_number
        received.outcome = await record_payment(
            session, channel=channel_name, result=verified.payment, source="notification"
        )
    elif verified.refund is not None:
        from ihos.billing import refunds

        received.refund_number = verified.refund.refund_number
        received.outcome = await refunds.record_refund_result(session, verified.refund)
    await session.flush()
    return channel.acknowledge(accepted=True)


async def record_payment(session: AsyncSession, *, channel: str, result: PaymentResult, source: str) -> str:
    """Apply a channel's word that an order was paid. Returns what happened (kept with the notification)."""
    if result.state != "paid" or not result.transaction_id or result.amount_fen is None:
        return f"ignored:{result.state}"
    order = await order_by_number(session, result.order_number)
    if order is None:
        return "unknown_order"
    # A repeat of a payment already applied fails the state condition below and is then recognised as
    # a duplicate by the payments' unique (channel, transaction id): no look-up first on the busy path.
    paid_at = result.paid_at or now()
    applied = await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.state.in_(PAYABLE_STATES))
        .values(
            state="paid",
            paid_fen=result.amount_fen,
            channel=channel,
            transaction_id=result.transaction_id,
            paid_at=paid_at,
            his_state="pending",
        )
        .execution_options(synchronize_session=False)
    )
    if applied.rowcount == 1:  # type: ignore[attr-defined]
        await _applied(session, order, channel=channel, result=result, paid_at=paid_at, source=source)
        return "paid"
    await session.refresh(order)
    return await _surplus(session, order, channel=channel, result=result, paid_at=paid_at)


async def _applied(
    session: AsyncSession, order: Order, *, channel: str, result: PaymentResult, paid_at: object, source: str
) -> None:
    if result.transaction_id is None or result.amount_fen is None:  # checked by record_payment
        raise ValueError("a paid result carries a transaction id and an amount")
    session.add(
        Payment(
            order_id=order.id,
            channel=channel,
            transaction_id=result.transaction_id,
            amount_fen=result.amount_fen,
            paid_at=paid_at,
            disposition="applied",
            applied_order_key=order.id,
        )
    )
    await session.flush()
    if result.amount_fen != order.payable_fen:
        await anomalies.flag(
            session,
            "amount_mismatch",
            order=order,
            details={"expected_fen": order.payable_fen, "paid_fen": result.amount_fen},
        )
    paid_hook = _on_paid.get(order.business_kind)
    if paid_hook is not None:
        await paid_hook(session, order)
    await enqueue(session, HIS_WRITE_BACK_JOB, {"order_id": str(order.id)}, dedupe_key=f"his:{order.id}")
    await audit.record(
        session,
        SYSTEM,
        "order.paid",
        target_kind="orders",
        target_id=order.order_number,
        details={"channel": channel, "amount_fen": result.amount_fen, "source": source},
    )
    if order.account_id is not None:
        publish_after_commit(
            session, f"account:{order.account_id}", {"type": "order.paid", "order_number": order.order_number}
        )


async def _surplus(
    session: AsyncSession, order: Order, *, channel: str, result: PaymentResult, paid_at: object
) -> str:
    """Money for an order that is closed, or already paid by another payment: keep it, flag it, refund it."""
    if result.transaction_id is None or result.amount_fen is None:  # checked by record_payment
        raise ValueError("a paid result carries a transaction id and an amount")
    payment = Payment(
        order_id=order.id,
        channel=channel,
        transaction_id=result.transaction_id,
        amount_fen=result.amount_fen,
        paid_at=paid_at,
        disposition="surplus",
    )
    if not await insert_unique(session, payment):
        return "duplicate"  # the same payment, recorded a moment ago by a concurrent notification or query
    kind = "paid_after_close" if order.state in ("closed", "cancelled") else "paid_twice"
    from ihos.billing import refunds

    refund = await refunds.refund_automatically(
        session,
        payment,
        reason="订单已关闭后到账，自动退款" if kind == "paid_after_close" else "重复支付，自动退款",
    )
    await anomalies.flag(
        session,
        kind,
        order=order,
        refund=refund,
        details={
            "channel": channel,
            "transaction_id": result.transaction_id,
            "amount_fen": result.amount_fen,
        },
    )
    return kind


# ---------------------------------------------------------------------------------------------
# the hold time, stuck payments, the HIS


async def close_if_unpaid(session: AsyncSession, order: Order) -> str:
    """An order past its hold time: ask the channel once more, then close it there and here."""
    attempt = await session.scalar(
        select(PaymentAttempt)
        .where(PaymentAttempt.order_id == order.id)
        .order_by(PaymentAttempt.created_at.desc())
    )
    if attempt is not None:
        channel = channels.get_channel(attempt.channel, session)
        result = await channel.query_payment(order.order_number)
        if result.state == "paid":
            return await record_payment(session, channel=attempt.channel, result=result, source="query")
        await channel.close(order.order_number)
    closed = await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.state.in_(PAYABLE_STATES))
        .values(state="closed", closed_at=now())
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount == 1:  # type: ignore[attr-defined]
        await audit.record(
            session,
            SYSTEM,
            "order.close",
            target_kind="orders",
            target_id=order.order_number,
            details={"reason": "hold_time"},
        )
        return "closed"
    return "unchanged"


async def current_attempt(session: AsyncSession, order: Order) -> PaymentAttempt | None:
    return await session.scalar(
        select(PaymentAttempt)
        .where(PaymentAttempt.order_id == order.id, PaymentAttempt.is_current)
        .order_by(PaymentAttempt.created_at.desc())
        .limit(1)
    )


async def query_if_paid(session: AsyncSession, order: Order) -> str:
    """A payment whose notification has not come: ask the channel (same path as a notification)."""
    attempt = await current_attempt(session, order)
    if attempt is None:
        return "no_attempt"
    result = await channels.get_channel(attempt.channel, session).query_payment(order.order_number)
    return await record_payment(session, channel=attempt.channel, result=result, source="query")


async def write_back_to_his(session: AsyncSession, order_id: uuid.UUID) -> None:
    """Record a paid order in the HIS; the business counts as paid when the HIS confirms."""
    from ihos.integrations.his import his_payments
    from ihos.integrations.his.base import ChargeWriteBack

    order = await session.get(Order, order_id)
    if order is None or order.his_state == "written" or order.state not in PAID_STATES:
        return
    patient = await session.get(Patient, order.patient_id) if order.patient_id else None
    receipt = await his_payments(session, get_settings().integrations.his).write_back_charge(
        ChargeWriteBack(
            order_number=order.order_number,
            patient_id_number=patient.id_number if patient else "",
            patient_name=patient.name if patient else "",
            business_kind=order.business_kind,
            business_reference=order.business_reference or "",
            channel=order.channel or "",
            transaction_id=order.transaction_id or "",
            amount_fen=order.paid_fen,
            paid_at=order.paid_at or now(),
        )
    )
    confirmed = await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.his_state != "written")
        .values(his_state="written", his_receipt_number=receipt.his_receipt_number, his_written_at=now())
        .execution_options(synchronize_session=False)
    )
    if confirmed.rowcount == 1:  # type: ignore[attr-defined]
        await session.refresh(order)
        hook = _on_confirmed.get(order.business_kind)
        if hook is not None:
            await hook(session, order)
        await audit.record(
            session,
            SYSTEM,
            "order.his_written",
            target_kind="orders",
            target_id=order.order_number,
            details={"receipt": receipt.his_receipt_number},
        )
