"""integration sandboxes

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-27 12:48:35.790757+00:00

The tables the counterpart sandboxes keep (ihos.models.sandbox): the SMS inbox and the issued
WeChat / Alipay sign-in codes. Written by hand.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihos.models.base

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sandbox_sms_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        # EncryptedString: a field token in a VARCHAR(255).
        sa.Column("phone", sa.String(length=255), nullable=False),
        sa.Column("phone_index", sa.String(length=64), nullable=False),
        sa.Column("phone_masked", sa.String(length=20), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("template_code", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("sign_name", sa.String(length=40), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("sent_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("created_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_sms_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_sandbox_sms_messages_message_id")),
    )
    op.create_index(
        "ix_sandbox_sms_messages_phone_index_sent_at", "sandbox_sms_messages", ["phone_index", "sent_at"]
    )
    op.create_index(op.f("ix_sandbox_sms_messages_sent_at"), "sandbox_sms_messages", ["sent_at"])

    op.create_table(
        "sandbox_oauth_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("user_hint", sa.String(length=64), nullable=False),
        sa.Column("expires_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("used_at", ihos.models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_oauth_codes")),
        sa.UniqueConstraint("provider", "code", name=op.f("uq_sandbox_oauth_codes_provider_code")),
    )
    op.create_index(op.f("ix_sandbox_oauth_codes_expires_at"), "sandbox_oauth_codes", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sandbox_oauth_codes_expires_at"), table_name="sandbox_oauth_codes")
    op.drop_table("sandbox_oauth_codes")
    op.drop_index(op.f("ix_sandbox_sms_messages_sent_at"), table_name="sandbox_sms_messages")
    op.drop_index("ix_sandbox_sms_messages_phone_index_sent_at", table_name="sandbox_sms_messages")
    op.drop_table("sandbox_sms_messages")
