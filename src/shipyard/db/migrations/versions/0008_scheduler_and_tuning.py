"""scheduler and tuning

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 07:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=512), nullable=False),
        sa.Column("pipeline", sa.String(length=256), nullable=False),
        sa.Column("cron", sa.String(length=128), nullable=True),
        sa.Column("triggers", sa.Text(), server_default="[]", nullable=False),
        sa.Column("catchup", sa.Boolean(), nullable=False),
        sa.Column("params", sa.Text(), server_default="{}", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=256), server_default="", nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("cron_at", sa.BigInteger(), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("ref", name=op.f("uq_schedules_ref")),
    )
    op.create_table(
        "schedule_claims",
        sa.Column("schedule_id", sa.String(length=64), nullable=False),
        sa.Column("event_key", sa.String(length=128), nullable=False),
        sa.Column("ref", sa.String(length=512), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("claimed_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pipeline_run_id", sa.String(length=32), nullable=True),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("schedule_id", "event_key", name=op.f("pk_schedule_claims")),
    )
    op.create_index("ix_schedule_claims_claimed_at", "schedule_claims", ["claimed_at"])
    op.create_table(
        "pipeline_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=512), nullable=False),
        sa.Column("params", sa.Text(), server_default="{}", nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("requested_at", sa.BigInteger(), nullable=False),
        sa.Column("requested_by", sa.String(length=256), server_default="", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_requests")),
    )
    op.create_index(
        "ix_pipeline_requests_status_requested_at", "pipeline_requests", ["status", "requested_at"]
    )
    op.create_table(
        "tuning_journal",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_tuning_journal")),
    )


def downgrade() -> None:
    op.drop_table("tuning_journal")
    op.drop_index("ix_pipeline_requests_status_requested_at", table_name="pipeline_requests")
    op.drop_table("pipeline_requests")
    op.drop_index("ix_schedule_claims_claimed_at", table_name="schedule_claims")
    op.drop_table("schedule_claims")
    op.drop_table("schedules")
