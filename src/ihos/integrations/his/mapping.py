"""What ihos's generic HIS payment interface carries, both ways: every field name and format in one
place, so that adapting to a vendor's HIS means changing this module (and ``PATHS``) only.

All bodies are JSON objects; amounts are integer fen; times are ISO 8601 with their offset
(``2026-11-27T21:03:00+08:00``); the patient is named by the resident ID number (GB 11643).

=================  ===============================================================================
``POST /charges``  收费回写. ``{"order_number", "patient": {"id_number", "name"}, "business": {"kind",
                   "reference"}, "payment": {"channel", "transaction_id", "amount_fen", "paid_at"}}`` →
                   ``{"receipt_number", "recorded_at"}``. Idempotent by ``order_number``: the same charge
                   again answers the first receipt; the same number with other content is 409
                   ``order_conflict``. ``business.kind`` ``clinic_bill`` pays the HIS bill named by
                   ``business.reference`` (404 ``unknown_bill``; 409 ``amount_mismatch`` (more than the
                   bill; less is the hospital's discount), ``bill_patient_mismatch``, ``bill_cancelled``,
                   ``bill_already_paid``).
``POST /refunds``  退费回写. ``{"refund_number", "order_number", "amount_fen", "refunded_at"}`` →
                   ``{"receipt_number", "recorded_at"}``. Idempotent by ``refund_number``; 404
                   ``unknown_order``; 409 ``refund_exceeds_charge``, ``refund_conflict``.
``POST /charges/   ``{"order_number"}`` → ``{"recorded": false}`` or ``{"recorded": true,
status``           "receipt_number", "recorded_at"}``.
``POST /clinic-    诊间支付. ``{"patient": {"id_number"}}`` → ``{"bills": [{"his_bill_id",
bills/query``      "patient_id_number", "department", "doctor", "created_at", "total_fen", "state":
                   "unpaid"|"paid", "lines": [{"code", "name", "quantity", "unit_price_fen",
                   "amount_fen"}]}]}``, newest first.
``POST /orders/    检查检验申请. ``{"changed_since", "limit"}`` → ``{"orders": [{"his_order_id", "kind":
changes``          "exam"|"lab", "patient": {"id_number", "name"}, "station": {"code", "name"},
                   "item_name", "department", "doctor", "ordered_at", "changed_at", "state":
                   "active"|"cancelled"}]}``, oldest change first, changes at or after ``changed_since``.
=================  ===============================================================================

Errors: ``{"error", "message"}`` with 400 ``invalid_request``, 401 ``invalid_signature``,
``unknown_app``, ``stale_timestamp``, 404/409 as above, 503 ``busy``/``unavailable`` (retry later).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from ihos.integrations.his.base import (
    ChargeWriteBack,
    ClinicBill,
    ClinicBillLine,
    HisOrder,
    RefundWriteBack,
    WriteBackReceipt,
)
from ihos.kit.time import hospital_zone

PATHS = {
    "charge": "/charges",
    "refund": "/refunds",
    "charge_status": "/charges/status",
    "clinic_bills": "/clinic-bills/query",
    "orders": "/orders/changes",
}
BILL_STATES = frozenset({"unpaid", "paid", "cancelled"})
ORDER_KINDS = frozenset({"exam", "lab"})
ORDER_STATES = frozenset({"active", "cancelled"})
MAX_ORDERS = 500


class MappingError(ValueError):
    """A body that does not have the shape this module describes."""


# -- values ---------------------------------------------------------------------------------------------


def time_text(moment: datetime) -> str:
    return moment.astimezone(hospital_zone()).isoformat(timespec="seconds")


def _time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise MappingError(f"{name} is not a time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise MappingError(f"{name} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise MappingError(f"{name} has no offset")
    return moment.astimezone(UTC)


def _text(body: Mapping[str, Any], name: str, *, limit: int = 64, allow_empty: bool = False) -> str:
    value = body.get(name)
    if not isinstance(value, str) or (not value and not allow_empty) or len(value) > limit:
        raise MappingError(f"{name} is required text of at most {limit} characters")
    return value


def _fen(body: Mapping[str, Any], name: str, *, positive: bool = True) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < (1 if positive else 0):
        raise MappingError(f"{name} is an amount in fen")
    return value


def _object(body: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = body.get(name)
    if not isinstance(value, Mapping):
        raise MappingError(f"{name} is an object")
    return value


# -- write-backs ----------------------------------------------------------------------------------------


def charge_request(charge: ChargeWriteBack) -> dict[str, Any]:
    return {
        "order_number": charge.order_number,
        "patient": {"id_number": charge.patient_id_number, "name": charge.patient_name},
        "business": {"kind": charge.business_kind, "reference": charge.business_reference},
        "payment": {
            "channel": charge.channel,
            "transaction_id": charge.transaction_id,
            "amount_fen": charge.amount_fen,
            "paid_at": time_text(charge.paid_at),
        },
    }


def charge_from_request(body: Mapping[str, Any]) -> ChargeWriteBack:
    patient, business, payment = _object(body, "patient"), _object(body, "business"), _object(body, "payment")
    return ChargeWriteBack(
        order_number=_text(body, "order_number", limit=32),
        patient_id_number=_text(patient, "id_number", limit=18),
        patient_name=_text(patient, "name", limit=50),
        business_kind=_text(business, "kind", limit=32),
        business_reference=_text(business, "reference", allow_empty=True),
        channel=_text(payment, "channel", limit=16),
        transaction_id=_text(payment, "transaction_id"),
        amount_fen=_fen(payment, "amount_fen"),
        paid_at=_time(payment.get("paid_at"), "paid_at"),
    )


def refund_request(refund: RefundWriteBack) -> dict[str, Any]:
    return {
        "refund_number": refund.refund_number,
        "order_number": refund.order_number,
        "amount_fen": refund.amount_fen,
        "refunded_at": time_text(refund.refunded_at),
    }


def refund_from_request(body: Mapping[str, Any]) -> RefundWriteBack:
    return RefundWriteBack(
        refund_number=_text(body, "refund_number"),
        order_number=_text(body, "order_number", limit=32),
        amount_fen=_fen(body, "amount_fen"),
        refunded_at=_time(body.get("refunded_at"), "refunded_at"),
    )


def receipt_answer(receipt: WriteBackReceipt) -> dict[str, Any]:
    return {"receipt_number": receipt.his_receipt_number, "recorded_at": time_text(receipt.recorded_at)}


def receipt_from_answer(body: Mapping[str, Any]) -> WriteBackReceipt:
    return WriteBackReceipt(
        his_receipt_number=_text(body, "receipt_number"),
        recorded_at=_time(body.get("recorded_at"), "recorded_at"),
    )


# -- charge status --------------------------------------------------------------------------------------


def status_request(order_number: str) -> dict[str, Any]:
    return {"order_number": order_number}


def order_number_from_request(body: Mapping[str, Any]) -> str:
    return _text(body, "order_number", limit=32)


def status_answer(receipt: WriteBackReceipt | None) -> dict[str, Any]:
    return {"recorded": False} if receipt is None else {"recorded": True, **receipt_answer(receipt)}


def status_from_answer(body: Mapping[str, Any]) -> WriteBackReceipt | None:
    recorded = body.get("recorded")
    if not isinstance(recorded, bool):
        raise MappingError("recorded is true or false")
    return receipt_from_answer(body) if recorded else None


# -- clinic bills ---------------------------------------------------------------------------------------


def bills_request(patient_id_number: str) -> dict[str, Any]:
    return {"patient": {"id_number": patient_id_number}}


def patient_from_bills_request(body: Mapping[str, Any]) -> str:
    return _text(_object(body, "patient"), "id_number", limit=18)


def bills_answer(bills: Iterable[ClinicBill]) -> dict[str, Any]:
    return {
        "bills": [
            {
                "his_bill_id": bill.his_bill_id,
                "patient_id_number": bill.patient_id_number,
                "department": bill.department,
                "doctor": bill.doctor,
                "created_at": time_text(bill.created_at),
                "total_fen": bill.total_fen,
                "state": bill.state,
                "lines": [
                    {
                        "code": line.code,
                        "name": line.name,
                        "quantity": line.quantity,
                        "unit_price_fen": line.unit_price_fen,
                        "amount_fen": line.amount_fen,
                    }
                    for line in bill.lines
                ],
            }
            for bill in bills
        ]
    }


def bills_from_answer(body: Mapping[str, Any]) -> tuple[ClinicBill, ...]:
    entries = body.get("bills")
    if not isinstance(entries, list):
        raise MappingError("bills is a list")
    bills = []
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("lines"), list):
            raise MappingError("a bill is an object with lines")
        state = entry.get("state")
        if state not in BILL_STATES:
            raise MappingError("a bill's state is unpaid, paid or cancelled")
        lines = []
        for line in entry["lines"]:
            if not isinstance(line, Mapping):
                raise MappingError("a bill line is an object")
            lines.append(
                ClinicBillLine(
                    code=_text(line, "code"),
                    name=_text(line, "name", limit=100),
                    quantity=_fen(line, "quantity"),
                    unit_price_fen=_fen(line, "unit_price_fen", positive=False),
                    amount_fen=_fen(line, "amount_fen", positive=False),
                )
            )
        bills.append(
            ClinicBill(
                his_bill_id=_text(entry, "his_bill_id"),
                patient_id_number=_text(entry, "patient_id_number", limit=18),
                department=_text(entry, "department", limit=100),
                doctor=_text(entry, "doctor", limit=100),
                created_at=_time(entry.get("created_at"), "created_at"),
                lines=tuple(lines),
                total_fen=_fen(entry, "total_fen", positive=False),
                state=state,
            )
        )
    return tuple(bills)


# -- exam and lab orders --------------------------------------------------------------------------------


def orders_request(since: datetime, limit: int) -> dict[str, Any]:
    return {"changed_since": time_text(since), "limit": limit}


def orders_query_from_request(body: Mapping[str, Any]) -> tuple[datetime, int]:
    limit = body.get("limit")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_ORDERS:
        raise MappingError(f"limit is 1…{MAX_ORDERS}")
    return _time(body.get("changed_since"), "changed_since"), limit


def orders_answer(orders: Iterable[HisOrder]) -> dict[str, Any]:
    return {
        "orders": [
            {
                "his_order_id": order.his_order_id,
                "kind": order.kind,
                "patient": {"id_number": order.patient_id_number, "name": order.patient_name},
                "station": {"code": order.station_code, "name": order.station_name},
                "item_name": order.item_name,
                "department": order.department,
                "doctor": order.doctor,
                "ordered_at": time_text(order.ordered_at),
                "changed_at": time_text(order.changed_at),
                "state": order.state,
            }
            for order in orders
        ]
    }


def orders_from_answer(body: Mapping[str, Any]) -> tuple[HisOrder, ...]:
    entries = body.get("orders")
    if not isinstance(entries, list):
        raise MappingError("orders is a list")
    orders = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise MappingError("an order is an object")
        kind, state = entry.get("kind"), entry.get("state")
        if kind not in ORDER_KINDS:
            raise MappingError("an order's kind is exam or lab")
        if state not in ORDER_STATES:
            raise MappingError("an order's state is active or cancelled")
        patient, station = _object(entry, "patient"), _object(entry, "station")
        orders.append(
            HisOrder(
                his_order_id=_text(entry, "his_order_id"),
                kind=kind,
                patient_id_number=_text(patient, "id_number", limit=18),
                patient_name=_text(patient, "name", limit=50),
                station_code=_text(station, "code", limit=50),
                station_name=_text(station, "name", limit=50),
                item_name=_text(entry, "item_name", limit=100),
                department=_text(entry, "department", limit=60, allow_empty=True),
                doctor=_text(entry, "doctor", limit=60, allow_empty=True),
                ordered_at=_time(entry.get("ordered_at"), "ordered_at"),
                changed_at=_time(entry.get("changed_at"), "changed_at"),
                state=state,
            )
        )
    return tuple(orders)
