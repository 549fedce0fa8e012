"""alipay and unionpay sandboxes

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-27 13:29:08.960495+00:00

The Alipay and UnionPay payment adapters' tables (ihos.models.sandbox_alipay_unionpay): the accepted
notification ids and the UnionPay submissions, used by the live channels too, and the two sandboxes'
ledgers. Written by hand.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihos.models.base

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ihos.models.base.UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "channel_notifications_seen",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("notification_id", sa.String(length=80), nullable=False),
        sa.Column("notified_at", ihos.models.base.UTCDateTime(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_notifications_seen")),
        sa.UniqueConstraint(
            "channel", "notification_id", name=op.f("uq_channel_notifications_seen_channel_notification_id")
        ),
    )
    op.create_index(
        op.f("ix_channel_notifications_seen_notified_at"), "channel_notifications_seen", ["notified_at"]
    )

    op.create_table(
        "unionpay_submissions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.String(length=15), nullable=False),
        sa.Column("txn_type", sa.String(length=2), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("txn_time", sa.String(length=14), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("pay_timeout", ihos.models.base.UTCDateTime(), nullable=True),
        sa.Column("original_query_id", sa.String(length=21), nullable=True),
        sa.Column("closed_at", ihos.models.base.UTCDateTime(), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unionpay_submissions")),
        sa.UniqueConstraint(
            "merchant_id",
            "txn_type",
            "order_id",
            name=op.f("uq_unionpay_submissions_merchant_id_txn_type_order_id"),
        ),
    )

    op.create_table(
        "sandbox_alipay_trades",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("app_id", sa.String(length=32), nullable=False),
        sa.Column("out_trade_no", sa.String(length=64), nullable=False),
        sa.Column("trade_no", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("total_fen", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("is_opened", sa.Boolean(), nullable=False),
        sa.Column("buyer_id", sa.String(length=32), nullable=True),
        sa.Column("notify_url", sa.String(length=512), nullable=True),
        sa.Column("time_expire", ihos.models.base.UTCDateTime(), nullable=True),
        sa.Column("paid_fen", sa.Integer(), nullable=True),
        sa.Column("refunded_fen", sa.Integer(), nullable=False),
        sa.Column("paid_at", ihos.models.base.UTCDateTime(), nullable=True),
        sa.Column("closed_at", ihos.models.base.UTCDateTime(), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_alipay_trades")),
        sa.UniqueConstraint(
            "app_id", "out_trade_no", name=op.f("uq_sandbox_alipay_trades_app_id_out_trade_no")
        ),
        sa.UniqueConstraint("trade_no", name=op.f("uq_sandbox_alipay_trades_trade_no")),
    )
    op.create_index(op.f("ix_sandbox_alipay_trades_paid_at"), "sandbox_alipay_trades", ["paid_at"])

    op.create_table(
        "sandbox_alipay_refunds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("trade_id", sa.Uuid(), nullable=False),
        sa.Column("out_request_no", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.Column("refunded_at", ihos.models.base.UTCDateTime(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["sandbox_alipay_trades.id"],
            name=op.f("fk_sandbox_alipay_refunds_trade_id_sandbox_alipay_trades"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_alipay_refunds")),
        sa.UniqueConstraint(
            "trade_id", "out_request_no", name=op.f("uq_sandbox_alipay_refunds_trade_id_out_request_no")
        ),
    )
    op.create_index(op.f("ix_sandbox_alipay_refunds_refunded_at"), "sandbox_alipay_refunds", ["refunded_at"])

    op.create_table(
        "sandbox_unionpay_orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.String(length=15), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("txn_time", sa.String(length=14), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("access", sa.String(length=8), nullable=False),
        sa.Column("tn", sa.String(length=32), nullable=True),
        sa.Column("back_url", sa.String(length=512), nullable=False),
        sa.Column("pay_timeout", ihos.models.base.UTCDateTime(), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("query_id", sa.String(length=21), nullable=True),
        sa.Column("paid_fen", sa.Integer(), nullable=True),
        sa.Column("refunded_fen", sa.Integer(), nullable=False),
        sa.Column("trace_no", sa.String(length=6), nullable=True),
        sa.Column("trace_time", sa.String(length=10), nullable=True),
        sa.Column("settle_date", sa.String(length=4), nullable=True),
        sa.Column("card_number", sa.String(length=19), nullable=True),
        sa.Column("paid_at", ihos.models.base.UTCDateTime(), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_unionpay_orders")),
        sa.UniqueConstraint(
            "merchant_id", "order_id", name=op.f("uq_sandbox_unionpay_orders_merchant_id_order_id")
        ),
        sa.UniqueConstraint("query_id", name=op.f("uq_sandbox_unionpay_orders_query_id")),
    )
    op.create_index(op.f("ix_sandbox_unionpay_orders_paid_at"), "sandbox_unionpay_orders", ["paid_at"])

    op.create_table(
        "sandbox_unionpay_refunds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.String(length=15), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("txn_time", sa.String(length=14), nullable=False),
        sa.Column("consume_id", sa.Uuid(), nullable=False),
        sa.Column("original_query_id", sa.String(length=21), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("back_url", sa.String(length=512), nullable=False),
        sa.Column("query_id", sa.String(length=21), nullable=False),
        sa.Column("trace_no", sa.String(length=6), nullable=False),
        sa.Column("trace_time", sa.String(length=10), nullable=False),
        sa.Column("settle_date", sa.String(length=4), nullable=False),
        sa.Column("refunded_at", ihos.models.base.UTCDateTime(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["consume_id"],
            ["sandbox_unionpay_orders.id"],
            name=op.f("fk_sandbox_unionpay_refunds_consume_id_sandbox_unionpay_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_unionpay_refunds")),
        sa.UniqueConstraint(
            "merchant_id", "order_id", name=op.f("uq_sandbox_unionpay_refunds_merchant_id_order_id")
        ),
        sa.UniqueConstraint("query_id", name=op.f("uq_sandbox_unionpay_refunds_query_id")),
    )
    op.create_index(
        op.f("ix_sandbox_unionpay_refunds_refunded_at"), "sandbox_unionpay_refunds", ["refunded_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sandbox_unionpay_refunds_refunded_at"), table_name="sandbox_unionpay_refunds")
    op.drop_table("sandbox_unionpay_refunds")
    op.drop_index(op.f("ix_sandbox_unionpay_orders_paid_at"), table_name="sandbox_unionpay_orders")
    op.drop_table("sandbox_unionpay_orders")
    op.drop_index(op.f("ix_sandbox_alipay_refunds_refunded_at"), table_name="sandbox_alipay_refunds")
    op.drop_table("sandbox_alipay_refunds")
    op.drop_index(op.f("ix_sandbox_alipay_trades_paid_at"), table_name="sandbox_alipay_trades")
    op.drop_table("sandbox_alipay_trades")
    op.drop_table("unionpay_submissions")
    op.drop_index(op.f("ix_channel_notifications_seen_notified_at"), table_name="channel_notifications_seen")
    op.drop_table("channel_notifications_seen")
