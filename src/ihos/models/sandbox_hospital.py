"""What the hospital-side sandboxes remember: the medical-insurance platform's ledger (医保移动支付沙箱) and
the sandbox HIS's charges, refunds and clinic bills (HIS 沙箱).

Only the sandboxes write these tables; in production they stay empty. ID numbers and names are stored
encrypted (``EncryptedString``) and looked up through HMAC-SM3 blind indexes, as everywhere else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ihos.models.base import Base, IdMixin, TimestampMixin
from ihos.security.fields import EncryptedString

# ---------------------------------------------------------------- medical insurance (医保移动支付)


class SandboxInsuranceOrder(IdMixin, TimestampMixin, Base):
    """One order on the sandbox insurance platform: fee details uploaded (6201), pre-settled (6202),
    then settled when the patient confirms in the insurance app (``simulate_payment``).

    ``state``: saved (6201) → presettled (6202) → settled | failed; saved/presettled → closed (6401 or
    expiry). Refunds (6203) are counted in the ``*_refunded_fen`` columns.
    """

    __tablename__ = "sandbox_insurance_orders"
    __table_args__ = (
        Index("ix_sandbox_insurance_orders_insured_index_created_at", "insured_index", "created_at"),
    )

    pay_order_id: Mapped[str] = mapped_column(String(40), unique=True)  # payOrdId
    pay_token: Mapped[str] = mapped_column(String(64))  # payToken
    order_number: Mapped[str] = mapped_column(String(32), unique=True)  # medOrgOrd
    settlement_id: Mapped[str | None] = mapped_column(String(40), unique=True)  # setl_id
    insured_id_number: Mapped[str] = mapped_column(EncryptedString())
    insured_index: Mapped[str] = mapped_column(String(64))
    person_number: Mapped[str] = mapped_column(String(30))  # psn_no
    medical_type: Mapped[str] = mapped_column(String(6))  # med_type
    use_account: Mapped[bool] = mapped_column()  # acctUsedFlag
    # The uploaded fee details: [{"feedetl_sn", "code", "name", "amount_fen", "class"}]; no personal data.
    lines: Mapped[list[Any]] = mapped_column()
    total_fen: Mapped[int] = mapped_column()
    fund_fen: Mapped[int] = mapped_column(default=0)
    account_fen: Mapped[int] = mapped_column(default=0)
    cash_fen: Mapped[int] = mapped_column(default=0)
    deductible_fen: Mapped[int] = mapped_column(default=0)  # act_pay_dedc: deductible paid by this bill
    # The settlement as the national interface names it (setlinfo); set by 6202.
    settlement: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16))
    notify_url: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime] = mapped_column()
    settled_at: Mapped[datetime | None] = mapped_column()
    fund_refunded_fen: Mapped[int] = mapped_column(default=0)
    account_refunded_fen: Mapped[int] = mapped_column(default=0)
    cash_refunded_fen: Mapped[int] = mapped_column(default=0)
    # The fund and personal-account parts were refunded (refdType ALL or HI): the year's deductible,
    # fund allowance and account balance are given back.
    is_insurance_refunded: Mapped[bool] = mapped_column(default=False)


class SandboxInsuranceRefund(IdMixin, TimestampMixin, Base):
    """One refund (6203) on the sandbox insurance platform, unique by the hospital's refund number."""

    __tablename__ = "sandbox_insurance_refunds"

    refund_number: Mapped[str] = mapped_column(String(64), unique=True)  # appRefdSn
    refund_id: Mapped[str] = mapped_column(String(40), unique=True)  # the platform's id
    pay_order_id: Mapped[str] = mapped_column(String(40), index=True)
    refund_type: Mapped[str] = mapped_column(String(8))  # refdType: ALL | CASH | HI
    total_fen: Mapped[int] = mapped_column()
    fund_fen: Mapped[int] = mapped_column()
    account_fen: Mapped[int] = mapped_column()
    cash_fen: Mapped[int] = mapped_column()
    refunded_at: Mapped[datetime] = mapped_column()


# ---------------------------------------------------------------- HIS (医院信息系统)


class SandboxHisClinicBill(IdMixin, TimestampMixin, Base):
    """诊间支付单: a charge the sandbox HIS created from a doctor's orders, waiting for the patient."""

    __tablename__ = "sandbox_his_clinic_bills"
    __table_args__ = (
        Index("ix_sandbox_his_clinic_bills_patient_index_created_at", "patient_index", "created_at"),
    )

    his_bill_id: Mapped[str] = mapped_column(String(32), unique=True)
    patient_id_number: Mapped[str] = mapped_column(EncryptedString())
    patient_index: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(60))
    doctor: Mapped[str] = mapped_column(String(60))
    # [{"code", "name", "quantity", "unit_price_fen", "amount_fen"}]
    lines: Mapped[list[Any]] = mapped_column()
    total_fen: Mapped[int] = mapped_column()
    state: Mapped[str] = mapped_column(String(16))  # unpaid | paid | cancelled
    paid_order_number: Mapped[str | None] = mapped_column(String(32))
    paid_at: Mapped[datetime | None] = mapped_column()


class SandboxHisCharge(IdMixin, TimestampMixin, Base):
    """收费回写: a payment recorded by the sandbox HIS, unique by ihos's order number."""

    __tablename__ = "sandbox_his_charges"

    order_number: Mapped[str] = mapped_column(String(32), unique=True)
    receipt_number: Mapped[str] = mapped_column(String(32), unique=True)
    patient_id_number: Mapped[str] = mapped_column(EncryptedString())
    patient_index: Mapped[str] = mapped_column(String(64), index=True)
    patient_name: Mapped[str] = mapped_column(EncryptedString())
    business_kind: Mapped[str] = mapped_column(String(32))
    business_reference: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    transaction_id: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column()
    paid_at: Mapped[datetime] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column()
    refunded_fen: Mapped[int] = mapped_column(default=0)


class SandboxHisRefund(IdMixin, TimestampMixin, Base):
    """退费回写: a refund recorded by the sandbox HIS, unique by ihos's refund number."""

    __tablename__ = "sandbox_his_refunds"

    refund_number: Mapped[str] = mapped_column(String(64), unique=True)
    order_number: Mapped[str] = mapped_column(String(32), index=True)
    receipt_number: Mapped[str] = mapped_column(String(32), unique=True)
    amount_fen: Mapped[int] = mapped_column()
    refunded_at: Mapped[datetime] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column()
