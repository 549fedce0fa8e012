"""The hospital information system (HIS) as ihos sees it, for payments: write a paid charge back (the
business counts as paid only when the HIS confirms), write back a refund, and fetch the clinic bills
(诊间支付) that doctors' orders created for a patient. For the queue: the exam and lab orders (检查检验申请)
that send patients to a station, read as a feed of the orders changed since a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol


class HisError(Exception):
    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        self.code = code
        self.message = message
        self.retryable = retryable
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class ChargeWriteBack:
    """A payment to record in the HIS (收费回写). Idempotent by ``order_number``."""

    order_number: str
    patient_id_number: str
    patient_name: str
    business_kind: str  # registration, clinic_bill, prescription, deposit, …
    business_reference: str  # the HIS's own id of what is paid (e.g. its bill id), if any
    channel: str
    transaction_id: str
    amount_fen: int
    paid_at: datetime


@dataclass(frozen=True)
class WriteBackReceipt:
    his_receipt_number: str  # the HIS's invoice/receipt number (发票号/收据号)
    recorded_at: datetime


@dataclass(frozen=True)
class RefundWriteBack:
    refund_number: str
    order_number: str
    amount_fen: int
    refunded_at: datetime


@dataclass(frozen=True)
class ClinicBillLine:
    code: str
    name: str
    quantity: int
    unit_price_fen: int
    amount_fen: int


@dataclass(frozen=True)
class ClinicBill:
    """诊间支付: a charge the HIS created from a doctor's orders, waiting for the patient to pay."""

    his_bill_id: str
    patient_id_number: str
    department: str
    doctor: str
    created_at: datetime
    lines: tuple[ClinicBillLine, ...]
    total_fen: int
    state: Literal["unpaid", "paid", "cancelled"]


class HisPayments(Protocol):
    async def write_back_charge(self, charge: ChargeWriteBack) -> WriteBackReceipt: ...

    async def write_back_refund(self, refund: RefundWriteBack) -> WriteBackReceipt: ...

    async def charge_status(self, order_number: str) -> WriteBackReceipt | None:
        """Whether the HIS has recorded this order's payment (for anomaly detection)."""
        ...

    async def clinic_bills(self, patient_id_number: str) -> tuple[ClinicBill, ...]: ...


@dataclass(frozen=True)
class HisOrder:
    """An exam or lab order (检查/检验申请) that sends the patient to a station's queue.

    ``state`` ``active`` until the doctor withdraws it (``cancelled``); ``changed_at`` is when the HIS last
    changed it (the feed's position).
    """

    his_order_id: str
    kind: Literal["exam", "lab"]
    patient_id_number: str
    patient_name: str
    station_code: str  # where it is done (CT1, US2, LAB-BLOOD…), the code a station queue carries
    station_name: str
    item_name: str
    department: str
    doctor: str
    ordered_at: datetime
    changed_at: datetime
    state: Literal["active", "cancelled"]


class HisOrders(Protocol):
    async def orders_changed_since(self, since: datetime, *, limit: int) -> tuple[HisOrder, ...]:
        """Orders created or changed at or after ``since``, oldest change first (at most ``limit``).
        Reading the same order twice is expected: the feed overlaps on purpose."""
        ...
