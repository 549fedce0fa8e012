"""The sandbox HIS (HIS 沙箱): a fake hospital information system for payments, with its own tables.

It speaks ihos's HIS interface (``wire`` + ``mapping``) to the real client through an in-process
transport, checking the app id, timestamp and HMAC-SM3 signature and signing its answers. It records
write-backs (``sandbox_his_charges``, idempotent by order number), refunds (``sandbox_his_refunds``)
and keeps the clinic bills that doctors' orders create (``sandbox_his_clinic_bills``):
``create_clinic_bill`` plays the doctor, paying a bill's write-back marks it paid, refunding it in full
cancels it. Exam and lab orders (``sandbox_his_orders``): ``create_exam_order`` and
``cancel_exam_order`` play the doctor; the order feed answers the orders changed since a time.

Failing: ``control``/settings switch every call to ``unavailable`` or ``timeout``, make the next N
write-backs fail with 503 ``busy`` (retryable), or record a write-back and lose the answer
(``lost_answer``: written to the HIS but the caller does not know). ID numbers and names are stored
encrypted with blind indexes, and never logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.his import mapping, wire
from ihos.integrations.his.base import (
    ChargeWriteBack,
    ClinicBill,
    ClinicBillLine,
    HisOrder,
    RefundWriteBack,
    WriteBackReceipt,
)
from ihos.integrations.his.client import HisConfig
from ihos.integrations.his.settings import HisFailureMode, HisSandboxSettings
from ihos.kit.idcard import InvalidIdNumber, normalise, parse_id_number
from ihos.kit.ids import digits
from ihos.kit.time import local_now, local_today, now
from ihos.models.sandbox_his_orders import SandboxHisOrder
from ihos.models.sandbox_hospital import SandboxHisCharge, SandboxHisClinicBill, SandboxHisRefund
from ihos.security.fields import blind_index

log = logging.getLogger(__name__)

SANDBOX_ENDPOINT = "https://his.sandbox.ihos.invalid/ihos/v1"
SANDBOX_APP_ID = "ihos-sandbox"
SANDBOX_SECRET = "ihos-sandbox-his-secret"
WRITE_BACKS = frozenset({mapping.PATHS["charge"], mapping.PATHS["refund"]})


def sandbox_config() -> HisConfig:
    return HisConfig(endpoint=SANDBOX_ENDPOINT, app_id=SANDBOX_APP_ID, secret=SANDBOX_SECRET)


class HisSandboxControl:
    """Run-time switches; when set, each wins over its setting."""

    def __init__(self) -> None:
        self.failure_mode: HisFailureMode | None = None
        # Write-backs still to fail with 503 busy; None: take the setting (once per process).
        self.failing_write_backs: int | None = None

    @contextmanager
    def failing(self, mode: HisFailureMode) -> Iterator[None]:
        previous, self.failure_mode = self.failure_mode, mode
        try:
            yield
        finally:
            self.failure_mode = previous

    def fail_next_write_backs(self, count: int) -> None:
        self.failing_write_backs = count

    def reset(self) -> None:
        self.failure_mode = None
        self.failing_write_backs = None


control = HisSandboxControl()


class _Refusal(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        self.status, self.error, self.message = status, error, message


def patient_index(id_number: str) -> str:
    return blind_index(id_number, kind="id_number")


class HisSandbox:
    """The fake HIS. ``transport()`` plugs it under an ``HttpHisPayments``; it writes in the caller's
    session (and transaction)."""

    def __init__(
        self, session: AsyncSession, *, settings: HisSandboxSettings, config: HisConfig | None = None
    ) -> None:
        self.session = session
        self.settings = settings
        self.config = config or sandbox_config()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        nonce = request.headers.get(wire.NONCE, "")
        mode = control.failure_mode or self.settings.failure_mode
        if mode == "timeout":
            raise httpx.ReadTimeout("sandbox: simulated timeout", request=request)
        base = httpx.URL(self.config.endpoint).path.rstrip("/")
        operation = request.url.path.removeprefix(base)
        handlers: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            mapping.PATHS["charge"]: self._charge,
            mapping.PATHS["refund"]: self._refund,
            mapping.PATHS["charge_status"]: self._status,
            mapping.PATHS["clinic_bills"]: self._bills,
            mapping.PATHS["orders"]: self._orders,
        }
        try:
            if mode == "unavailable":
                raise _Refusal(503, "unavailable", "HIS unavailable")
            self._authenticate(request)
            handler = handlers.get(operation)
            if handler is None:
                raise _Refusal(404, "unknown_operation", "no such operation")
            if operation in WRITE_BACKS:
                self._maybe_busy()
            body = _body(request.content)
            try:
                answer = await handler(body)
            except mapping.MappingError as exc:
                raise _Refusal(400, "invalid_request", str(exc)) from None
        except _Refusal as refusal:
            return self._reply(refusal.status, {"error": refusal.error, "message": refusal.message}, nonce)
        if mode == "lost_answer" and operation in WRITE_BACKS:
            # Written to the HIS; the answer never reaches the caller.
            await self.session.flush()
            raise httpx.ReadTimeout("sandbox: answer lost after recording", request=request)
        return self._reply(200, answer, nonce)

    def _maybe_busy(self) -> None:
        if control.failing_write_backs is None:
            control.failing_write_backs = self.settings.failing_write_backs
        if control.failing_write_backs > 0:
            control.failing_write_backs -= 1
            raise _Refusal(503, "busy", "HIS busy, try again later")

    def _authenticate(self, request: httpx.Request) -> None:
        headers = request.headers
        if headers.get(wire.APP_ID) != self.config.app_id:
            raise _Refusal(401, "unknown_app", "unknown app id")
        timestamp = headers.get(wire.TIMESTAMP, "")
        if (
            not timestamp.isdigit()
            or abs(now().timestamp() - int(timestamp)) > wire.TIMESTAMP_TOLERANCE_SECONDS
        ):
            raise _Refusal(401, "stale_timestamp", "timestamp missing or out of range")
        expected = wire.request_signature(
            self.config.secret,
            path=request.url.path,
            timestamp=timestamp,
            nonce=headers.get(wire.NONCE, ""),
            body=request.content,
        )
        if not wire.same(expected, headers.get(wire.SIGNATURE)):
            raise _Refusal(401, "invalid_signature", "signature does not match")

    def _reply(self, status: int, body: dict[str, Any], nonce: str) -> httpx.Response:
        content = json.dumps(body, ensure_ascii=False).encode()
        timestamp = str(int(now().timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            wire.TIMESTAMP: timestamp,
            wire.SIGNATURE: wire.response_signature(
                self.config.secret, status=status, nonce=nonce, timestamp=timestamp, body=content
            ),
        }
        return httpx.Response(status, content=content, headers=headers)

    # -- 收费回写 ---------------------------------------------------------------------------------------

    async def _charge(self, body: dict[str, Any]) -> dict[str, Any]:
        charge = mapping.charge_from_request(body)
        index = patient_index(_id_number(charge.patient_id_number))
        existing = await self._charge_of(charge.order_number)
        if existing is not None:
            return mapping.receipt_answer(_same_charge(existing, charge, index))
        if charge.business_kind == "clinic_bill":
            await self._pay_bill(charge, index)
        row = SandboxHisCharge(
            order_number=charge.order_number,
            receipt_number=f"FP{local_now():%Y%m%d}{digits(10)}",
            patient_id_number=_id_number(charge.patient_id_number),
            patient_index=index,
            patient_name=charge.patient_name,
            business_kind=charge.business_kind,
            business_reference=charge.business_reference,
            channel=charge.channel,
            transaction_id=charge.transaction_id,
            amount_fen=charge.amount_fen,
            paid_at=charge.paid_at,
            recorded_at=_this_second(),
        )
        try:
            async with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            # The same order written back twice at once: the first one stands.
            existing = await self._charge_of(charge.order_number)
            if existing is None:  # pragma: no cover - the unique receipt number collided
                raise _Refusal(503, "busy", "try again") from None
            return mapping.receipt_answer(_same_charge(existing, charge, index))
        log.info("sandbox HIS charge %s recorded as %s", charge.order_number, row.receipt_number)
        return mapping.receipt_answer(_receipt(row))

    async def _pay_bill(self, charge: ChargeWriteBack, index: str) -> None:
        bill = (
            await self.session.scalars(
                select(SandboxHisClinicBill).where(
                    SandboxHisClinicBill.his_bill_id == charge.business_reference
                )
            )
        ).one_or_none()
        if bill is None:
            raise _Refusal(404, "unknown_bill", "no such clinic bill")
        if bill.patient_index != index:
            raise _Refusal(409, "bill_patient_mismatch", "the bill belongs to another patient")
        if bill.state == "cancelled":
            raise _Refusal(409, "bill_cancelled", "the bill was cancelled")
        if charge.amount_fen > bill.total_fen:
            # Less is allowed: the hospital's own discount (decided by the intranet, SY-01), which the
            # HIS applies itself; more is never right.
            raise _Refusal(409, "amount_mismatch", "more than the bill's total")
        result: CursorResult[Any] = await self.session.execute(  # type: ignore[assignment]
            update(SandboxHisClinicBill)
            .where(SandboxHisClinicBill.id == bill.id, SandboxHisClinicBill.state == "unpaid")
            .values(
                state="paid", paid_order_number=charge.order_number, paid_at=charge.paid_at, updated_at=now()
            )
        )
        if result.rowcount != 1:
            raise _Refusal(409, "bill_already_paid", "the bill was paid by another order")

    # -- 退费回写 ---------------------------------------------------------------------------------------

    async def _refund(self, body: dict[str, Any]) -> dict[str, Any]:
        refund = mapping.refund_from_request(body)
        charge = await self._charge_of(refund.order_number)
        if charge is None:
            raise _Refusal(404, "unknown_order", "no charge for this order")
        existing = await self._refund_of(refund.refund_number)
        if existing is not None:
            return mapping.receipt_answer(_same_refund(existing, refund))
        result: CursorResult[Any] = await self.session.execute(  # type: ignore[assignment]
            update(SandboxHisCharge)
            .where(
                SandboxHisCharge.id == charge.id,
                SandboxHisCharge.refunded_fen + refund.amount_fen <= SandboxHisCharge.amount_fen,
            )
            .values(refunded_fen=SandboxHisCharge.refunded_fen + refund.amount_fen, updated_at=now())
        )
        if result.rowcount != 1:
            raise _Refusal(409, "refund_exceeds_charge", "more than was charged")
        row = SandboxHisRefund(
            refund_number=refund.refund_number,
            order_number=refund.order_number,
            receipt_number=f"TF{local_now():%Y%m%d}{digits(10)}",
            amount_fen=refund.amount_fen,
            refunded_at=refund.refunded_at,
            recorded_at=_this_second(),
        )
        self.session.add(row)
        await self.session.flush()
        await self.session.refresh(charge)
        if charge.business_kind == "clinic_bill" and charge.refunded_fen == charge.amount_fen:
            # 退费: the doctor's orders behind a fully refunded bill are void.
            await self.session.execute(
                update(SandboxHisClinicBill)
                .where(
                    SandboxHisClinicBill.his_bill_id == charge.business_reference,
                    SandboxHisClinicBill.paid_order_number == charge.order_number,
                )
                .values(state="cancelled", updated_at=now())
            )
        log.info("sandbox HIS refund %s of %s recorded", refund.refund_number, refund.order_number)
        return mapping.receipt_answer(
            WriteBackReceipt(his_receipt_number=row.receipt_number, recorded_at=row.recorded_at)
        )

    # -- queries ----------------------------------------------------------------------------------------

    async def _status(self, body: dict[str, Any]) -> dict[str, Any]:
        charge = await self._charge_of(mapping.order_number_from_request(body))
        return mapping.status_answer(_receipt(charge) if charge is not None else None)

    async def _bills(self, body: dict[str, Any]) -> dict[str, Any]:
        index = patient_index(_id_number(mapping.patient_from_bills_request(body)))
        rows = (
            await self.session.scalars(
                select(SandboxHisClinicBill)
                .where(
                    SandboxHisClinicBill.patient_index == index,
                    SandboxHisClinicBill.state.in_(("unpaid", "paid")),
                )
                .order_by(SandboxHisClinicBill.created_at.desc())
            )
        ).all()
        return mapping.bills_answer(bill_of(row) for row in rows)

    async def _orders(self, body: dict[str, Any]) -> dict[str, Any]:
        since, limit = mapping.orders_query_from_request(body)
        rows = (
            await self.session.scalars(
                select(SandboxHisOrder)
                .where(SandboxHisOrder.changed_at >= since)
                .order_by(SandboxHisOrder.changed_at, SandboxHisOrder.his_order_id)
                .limit(limit)
            )
        ).all()
        return mapping.orders_answer(order_of(row) for row in rows)

    async def _charge_of(self, order_number: str) -> SandboxHisCharge | None:
        return (
            await self.session.scalars(
                select(SandboxHisCharge).where(SandboxHisCharge.order_number == order_number)
            )
        ).one_or_none()

    async def _refund_of(self, refund_number: str) -> SandboxHisRefund | None:
        return (
            await self.session.scalars(
                select(SandboxHisRefund).where(SandboxHisRefund.refund_number == refund_number)
            )
        ).one_or_none()


def _this_second() -> datetime:
    # The interface carries times to the second, as HIS databases keep them.
    return now().replace(microsecond=0)


def _body(content: bytes) -> dict[str, Any]:
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _Refusal(400, "invalid_request", "body is not a JSON object")
    return body


def _id_number(value: str) -> str:
    try:
        return parse_id_number(normalise(value), today=local_today()).value
    except InvalidIdNumber:
        raise _Refusal(400, "invalid_request", "not a valid resident ID number") from None


def _receipt(row: SandboxHisCharge) -> WriteBackReceipt:
    return WriteBackReceipt(his_receipt_number=row.receipt_number, recorded_at=row.recorded_at)


def _same_charge(existing: SandboxHisCharge, charge: ChargeWriteBack, index: str) -> WriteBackReceipt:
    """The first receipt when the same charge comes again; 409 when the order number is reused."""
    same = (
        existing.patient_index,
        existing.amount_fen,
        existing.business_kind,
        existing.business_reference,
        existing.transaction_id,
    ) == (index, charge.amount_fen, charge.business_kind, charge.business_reference, charge.transaction_id)
    if not same:
        raise _Refusal(409, "order_conflict", "the order number was written back with other content")
    return _receipt(existing)


def _same_refund(existing: SandboxHisRefund, refund: RefundWriteBack) -> WriteBackReceipt:
    if (existing.order_number, existing.amount_fen) != (refund.order_number, refund.amount_fen):
        raise _Refusal(409, "refund_conflict", "the refund number was written back with other content")
    return WriteBackReceipt(his_receipt_number=existing.receipt_number, recorded_at=existing.recorded_at)


def bill_of(row: SandboxHisClinicBill) -> ClinicBill:
    return ClinicBill(
        his_bill_id=row.his_bill_id,
        patient_id_number=row.patient_id_number,
        department=row.department,
        doctor=row.doctor,
        created_at=row.created_at.replace(microsecond=0),  # the interface carries seconds
        lines=tuple(ClinicBillLine(**line) for line in row.lines),
        total_fen=row.total_fen,
        state=row.state,  # type: ignore[arg-type]
    )


# -- what the doctors' orders do in the demo and the tests ----------------------------------------------


async def create_clinic_bill(
    session: AsyncSession,
    patient_id_number: str,
    lines: Sequence[ClinicBillLine],
    department: str,
    doctor: str,
) -> ClinicBill:
    """A bill the sandbox HIS creates from a doctor's orders (诊间支付), unpaid, for the patient."""
    try:
        id_number = parse_id_number(normalise(patient_id_number), today=local_today()).value
    except InvalidIdNumber as exc:
        raise ValueError(str(exc)) from None
    if not lines:
        raise ValueError("a clinic bill has at least one line")
    for line in lines:
        if (
            line.quantity <= 0
            or line.unit_price_fen < 0
            or line.amount_fen != line.quantity * line.unit_price_fen
        ):
            raise ValueError(f"line {line.code}: amount is quantity × unit price")
    row = SandboxHisClinicBill(
        his_bill_id=f"CB{local_now():%Y%m%d%H%M%S}{digits(6)}",
        patient_id_number=id_number,
        patient_index=patient_index(id_number),
        department=department,
        doctor=doctor,
        lines=[
            {
                "code": line.code,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price_fen": line.unit_price_fen,
                "amount_fen": line.amount_fen,
            }
            for line in lines
        ],
        total_fen=sum(line.amount_fen for line in lines),
        state="unpaid",
        created_at=now(),
    )
    session.add(row)
    await session.flush()
    return bill_of(row)


async def cancel_clinic_bill(session: AsyncSession, his_bill_id: str) -> bool:
    """The doctor withdrew the orders: an unpaid bill is cancelled (False if it was not unpaid)."""
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(SandboxHisClinicBill)
        .where(SandboxHisClinicBill.his_bill_id == his_bill_id, SandboxHisClinicBill.state == "unpaid")
        .values(state="cancelled", updated_at=now())
    )
    return result.rowcount == 1


def order_of(row: SandboxHisOrder) -> HisOrder:
    return HisOrder(
        his_order_id=row.his_order_id,
        kind=row.kind,  # type: ignore[arg-type]
        patient_id_number=row.patient_id_number,
        patient_name=row.patient_name,
        station_code=row.station_code,
        station_name=row.station_name,
        item_name=row.item_name,
        department=row.department,
        doctor=row.doctor,
        ordered_at=row.ordered_at.replace(microsecond=0),
        changed_at=row.changed_at.replace(microsecond=0),
        state=row.state,  # type: ignore[arg-type]
    )


async def create_exam_order(
    session: AsyncSession,
    *,
    patient_id_number: str,
    patient_name: str,
    kind: str,
    station_code: str,
    station_name: str,
    item_name: str,
    department: str = "",
    doctor: str = "",
) -> HisOrder:
    """An exam or lab order the sandbox HIS records from a doctor's order (检查/检验申请), active."""
    try:
        id_number = parse_id_number(normalise(patient_id_number), today=local_today()).value
    except InvalidIdNumber as exc:
        raise ValueError(str(exc)) from None
    if kind not in mapping.ORDER_KINDS:
        raise ValueError("an order is an exam or a lab order")
    at = _this_second()
    row = SandboxHisOrder(
        his_order_id=f"{'JC' if kind == 'exam' else 'JY'}{local_now():%Y%m%d%H%M%S}{digits(6)}",
        kind=kind,
        patient_id_number=id_number,
        patient_index=patient_index(id_number),
        patient_name=patient_name,
        station_code=station_code,
        station_name=station_name,
        item_name=item_name,
        department=department,
        doctor=doctor,
        ordered_at=at,
        state="active",
        changed_at=at,
    )
    session.add(row)
    await session.flush()
    return order_of(row)


async def cancel_exam_order(session: AsyncSession, his_order_id: str) -> bool:
    """The doctor withdrew the order (False if it was not active)."""
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(SandboxHisOrder)
        .where(SandboxHisOrder.his_order_id == his_order_id, SandboxHisOrder.state == "active")
        .values(state="cancelled", changed_at=_this_second(), updated_at=now())
    )
    return result.rowcount == 1
