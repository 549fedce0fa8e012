"""wechat pay sandbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 13:33:26.342368+00:00

WeChat Pay (ihos.models.sandbox_wechat_pay): the notification nonces the channel has seen (live and
sandbox alike), and the sandbox's platform key and ledger of orders and refunds. Written by hand.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihos.models.base

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id_and_timestamps() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ihos.models.base.UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "wechat_pay_nonces",
        *_id_and_timestamps(),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_pay_nonces")),
        sa.UniqueConstraint("nonce", name=op.f("uq_wechat_pay_nonces_nonce")),
    )
    op.create_index(op.f("ix_wechat_pay_nonces_expires_at"), "wechat_pay_nonces", ["expires_at"])

    op.create_table(
        "sandbox_wechat_pay_keys",
        *_id_and_timestamps(),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        # EncryptedString(4000): a field token in a VARCHAR(4000).
        sa.Column("private_key", sa.String(length=4000), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_wechat_pay_keys")),
        sa.UniqueConstraint("name", name=op.f("uq_sandbox_wechat_pay_keys_name")),
    )

    op.create_table(
        "sandbox_wechat_pay_transactions",
        *_id_and_timestamps(),
        sa.Column("mchid", sa.String(length=32), nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("out_trade_no", sa.String(length=32), nullable=False),
        sa.Column("trade_type", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=127), nullable=False),
        sa.Column("total_fen", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("payer_openid", sa.String(length=128), nullable=True),
        sa.Column("notify_url", sa.String(length=256), nullable=False),
        sa.Column("time_expire", ihos.models.base.UTCDateTime(), nullable=True),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("prepay_id", sa.String(length=64), nullable=False),
        sa.Column("trade_state", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=32), nullable=True),
        sa.Column("payer_total_fen", sa.Integer(), nullable=True),
        sa.Column("refunded_fen", sa.Integer(), nullable=False),
        sa.Column("bank_type", sa.String(length=32), nullable=True),
        sa.Column("success_time", ihos.models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_wechat_pay_transactions")),
        sa.UniqueConstraint(
            "mchid", "out_trade_no", name=op.f("uq_sandbox_wechat_pay_transactions_mchid_out_trade_no")
        ),
        sa.UniqueConstraint("prepay_id", name=op.f("uq_sandbox_wechat_pay_transactions_prepay_id")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_sandbox_wechat_pay_transactions_transaction_id")),
    )
    op.create_index(
        op.f("ix_sandbox_wechat_pay_transactions_success_time"),
        "sandbox_wechat_pay_transactions",
        ["success_time"],
    )

    op.create_table(
        "sandbox_wechat_pay_refunds",
        *_id_and_timestamps(),
        sa.Column("transaction_row_id", sa.Uuid(), nullable=False),
        sa.Column("mchid", sa.String(length=32), nullable=False),
        sa.Column("out_refund_no", sa.String(length=64), nullable=False),
        sa.Column("refund_id", sa.String(length=32), nullable=False),
        sa.Column("out_trade_no", sa.String(length=32), nullable=False),
        sa.Column("transaction_id", sa.String(length=32), nullable=False),
        sa.Column("refund_fen", sa.Integer(), nullable=False),
        sa.Column("total_fen", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=True),
        sa.Column("notify_url", sa.String(length=256), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("accepted_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("completes_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("success_time", ihos.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["transaction_row_id"],
            ["sandbox_wechat_pay_transactions.id"],
            name=op.f("fk_sandbox_wechat_pay_refunds_transaction_row_id_sandbox_wechat_pay_transactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_wechat_pay_refunds")),
        sa.UniqueConstraint(
            "mchid", "out_refund_no", name=op.f("uq_sandbox_wechat_pay_refunds_mchid_out_refund_no")
        ),
        sa.UniqueConstraint("refund_id", name=op.f("uq_sandbox_wechat_pay_refunds_refund_id")),
    )
    op.create_index(
        op.f("ix_sandbox_wechat_pay_refunds_accepted_at"), "sandbox_wechat_pay_refunds", ["accepted_at"]
    )
    op.create_index(
        op.f("ix_sandbox_wechat_pay_refunds_transaction_row_id"),
        "sandbox_wechat_pay_refunds",
        ["transaction_row_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_sandbox_wechat_pay_refunds_transaction_row_id"), table_name="sandbox_wechat_pay_refunds"
    )
    op.drop_index(op.f("ix_sandbox_wechat_pay_refunds_accepted_at"), table_name="sandbox_wechat_pay_refunds")
    op.drop_table("sandbox_wechat_pay_refunds")
    op.drop_index(
        op.f("ix_sandbox_wechat_pay_transactions_success_time"), table_name="sandbox_wechat_pay_transactions"
    )
    op.drop_table("sandbox_wechat_pay_transactions")
    op.drop_table("sandbox_wechat_pay_keys")
    op.drop_index(op.f("ix_wechat_pay_nonces_expires_at"), table_name="wechat_pay_nonces")
    op.drop_table("wechat_pay_nonces")
