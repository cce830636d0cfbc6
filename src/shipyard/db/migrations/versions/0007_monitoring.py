"""monitoring

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 07:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=256), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name=op.f("pk_monitors")),
    )
    op.create_table(
        "monitor_results",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("monitor", sa.String(length=128), nullable=False),
        sa.Column("monitor_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("n_predictions", sa.BigInteger(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_results")),
    )
    op.create_index(
        "ix_monitor_results_monitor_created_at", "monitor_results", ["monitor", "created_at"], unique=False
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("monitor", sa.String(length=128), nullable=False),
        sa.Column("check", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("fired_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("resolved_at", sa.BigInteger(), nullable=True),
        sa.Column("result_id", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("count", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("ix_alerts_monitor_state", "alerts", ["monitor", "state"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_alerts_monitor_state", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_monitor_results_monitor_created_at", table_name="monitor_results")
    op.drop_table("monitor_results")
    op.drop_table("monitors")
