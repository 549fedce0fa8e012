"""stored files

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-27 12:43:09.848764+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihos.models.base

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stored_files",
        sa.Column("id", sa.Uuid(), nullable=False),
        # FilePurpose, stored as text without a CHECK constraint so new purposes need no migration.
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sm3_digest", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=True),
        sa.Column("owner_kind", sa.String(length=40), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("uploaded_by_kind", sa.String(length=40), nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_files")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_stored_files_storage_key")),
    )
    op.create_index("ix_stored_files_owner", "stored_files", ["owner_kind", "owner_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_stored_files_owner", table_name="stored_files")
    op.drop_table("stored_files")
