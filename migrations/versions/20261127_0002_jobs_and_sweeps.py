"""jobs and sweeps

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 12:45:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihos.models.base

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        # JobState, stored as text: pending, running, done, parked.
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", ihos.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_jobs_dedupe_key")),
    )
    op.create_index("ix_jobs_state_due_at", "jobs", ["state", "due_at"], unique=False)
    op.create_table(
        "sweep_schedules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("next_run_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("created_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ihos.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_schedules")),
        sa.UniqueConstraint("name", name=op.f("uq_sweep_schedules_name")),
    )


def downgrade() -> None:
    op.drop_table("sweep_schedules")
    op.drop_index("ix_jobs_state_due_at", table_name="jobs")
    op.drop_table("jobs")
