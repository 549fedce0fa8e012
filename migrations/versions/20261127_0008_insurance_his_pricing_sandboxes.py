"""insurance his pricing sandboxes

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-27 13:32:11.067238+00:00

The hospital-side sandboxes' tables (ihos.models.sandbox_hospital): the medical-insurance platform's
ledger (orders and refunds) and the sandbox HIS's charges, refunds and clinic bills. The pricing
sandbox keeps nothing. Written by hand.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihos.models.base

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _common() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ihos.models.base.UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "sandbox_insurance_orders",
        *_common(),
        sa.Column("pay_order_id", sa.String(length=40), nullable=False),
        sa.Column("pay_token", sa.String(length=64), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("settlement_id", sa.String(length=40), nullable=True),
        # EncryptedString: a field token in a VARCHAR(255).
        sa.Column("insured_id_number", sa.String(length=255), nullable=False),
        sa.Column("insured_index", sa.String(length=64), nullable=False),
        sa.Column("person_number", sa.String(length=30), nullable=False),
        sa.Column("medical_type", sa.String(length=6), nullable=False),
        sa.Column("use_account", sa.Boolean(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("total_fen", sa.Integer(), nullable=False),
        sa.Column("fund_fen", sa.Integer(), nullable=False),
        sa.Column("account_fen", sa.Integer(), nullable=False),
        sa.Column("cash_fen", sa.Integer(), nullable=False),
        sa.Column("deductible_fen", sa.Integer(), nullable=False),
        sa.Column("settlement", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("notify_url", sa.String(length=500), nullable=False),
        sa.Column("expires_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("settled_at", ihos.models.base.UTCDateTime(), nullable=True),
        sa.Column("fund_refunded_fen", sa.Integer(), nullable=False),
        sa.Column("account_refunded_fen", sa.Integer(), nullable=False),
        sa.Column("cash_refunded_fen", sa.Integer(), nullable=False),
        sa.Column("is_insurance_refunded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_insurance_orders")),
        sa.UniqueConstraint("pay_order_id", name=op.f("uq_sandbox_insurance_orders_pay_order_id")),
        sa.UniqueConstraint("order_number", name=op.f("uq_sandbox_insurance_orders_order_number")),
        sa.UniqueConstraint("settlement_id", name=op.f("uq_sandbox_insurance_orders_settlement_id")),
    )
    op.create_index(
        "ix_sandbox_insurance_orders_insured_index_created_at",
        "sandbox_insurance_orders",
        ["insured_index", "created_at"],
    )

    op.create_table(
        "sandbox_insurance_refunds",
        *_common(),
        sa.Column("refund_number", sa.String(length=64), nullable=False),
        sa.Column("refund_id", sa.String(length=40), nullable=False),
        sa.Column("pay_order_id", sa.String(length=40), nullable=False),
        sa.Column("refund_type", sa.String(length=8), nullable=False),
        sa.Column("total_fen", sa.Integer(), nullable=False),
        sa.Column("fund_fen", sa.Integer(), nullable=False),
        sa.Column("account_fen", sa.Integer(), nullable=False),
        sa.Column("cash_fen", sa.Integer(), nullable=False),
        sa.Column("refunded_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_insurance_refunds")),
        sa.UniqueConstraint("refund_number", name=op.f("uq_sandbox_insurance_refunds_refund_number")),
        sa.UniqueConstraint("refund_id", name=op.f("uq_sandbox_insurance_refunds_refund_id")),
    )
    op.create_index(
        op.f("ix_sandbox_insurance_refunds_pay_order_id"), "sandbox_insurance_refunds", ["pay_order_id"]
    )

    op.create_table(
        "sandbox_his_clinic_bills",
        *_common(),
        sa.Column("his_bill_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id_number", sa.String(length=255), nullable=False),
        sa.Column("patient_index", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=60), nullable=False),
        sa.Column("doctor", sa.String(length=60), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("total_fen", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("paid_order_number", sa.String(length=32), nullable=True),
        sa.Column("paid_at", ihos.models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_his_clinic_bills")),
        sa.UniqueConstraint("his_bill_id", name=op.f("uq_sandbox_his_clinic_bills_his_bill_id")),
    )
    op.create_index(
        "ix_sandbox_his_clinic_bills_patient_index_created_at",
        "sandbox_his_clinic_bills",
        ["patient_index", "created_at"],
    )

    op.create_table(
        "sandbox_his_charges",
        *_common(),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("receipt_number", sa.String(length=32), nullable=False),
        sa.Column("patient_id_number", sa.String(length=255), nullable=False),
        sa.Column("patient_index", sa.String(length=64), nullable=False),
        sa.Column("patient_name", sa.String(length=255), nullable=False),
        sa.Column("business_kind", sa.String(length=32), nullable=False),
        sa.Column("business_reference", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("paid_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("recorded_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("refunded_fen", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_his_charges")),
        sa.UniqueConstraint("order_number", name=op.f("uq_sandbox_his_charges_order_number")),
        sa.UniqueConstraint("receipt_number", name=op.f("uq_sandbox_his_charges_receipt_number")),
    )
    op.create_index(op.f("ix_sandbox_his_charges_patient_index"), "sandbox_his_charges", ["patient_index"])

    op.create_table(
        "sandbox_his_refunds",
        *_common(),
        sa.Column("refund_number", sa.String(length=64), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("receipt_number", sa.String(length=32), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("refunded_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("recorded_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_his_refunds")),
        sa.UniqueConstraint("refund_number", name=op.f("uq_sandbox_his_refunds_refund_number")),
        sa.UniqueConstraint("receipt_number", name=op.f("uq_sandbox_his_refunds_receipt_number")),
    )
    op.create_index(op.f("ix_sandbox_his_refunds_order_number"), "sandbox_his_refunds", ["order_number"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sandbox_his_refunds_order_number"), table_name="sandbox_his_refunds")
    op.drop_table("sandbox_his_refunds")
    op.drop_index(op.f("ix_sandbox_his_charges_patient_index"), table_name="sandbox_his_charges")
    op.drop_table("sandbox_his_charges")
    op.drop_index(
        "ix_sandbox_his_clinic_bills_patient_index_created_at", table_name="sandbox_his_clinic_bills"
    )
    op.drop_table("sandbox_his_clinic_bills")
    op.drop_index(op.f("ix_sandbox_insurance_refunds_pay_order_id"), table_name="sandbox_insurance_refunds")
    op.drop_table("sandbox_insurance_refunds")
    op.drop_index(
        "ix_sandbox_insurance_orders_insured_index_created_at", table_name="sandbox_insurance_orders"
    )
    op.drop_table("sandbox_insurance_orders")
