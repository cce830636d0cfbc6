"""pipelines

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("pipeline", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("executor", sa.String(length=32), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("tracking_run_id", sa.String(length=32), nullable=True),
        sa.Column("resumed_from", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=256), server_default="", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("params", sa.Text(), server_default="{}", nullable=False),
        sa.Column("graph", sa.Text(), server_default="{}", nullable=False),
        sa.Column("outputs", sa.Text(), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
    )
    op.create_index("ix_pipeline_runs_pipeline_created_at", "pipeline_runs", ["pipeline", "created_at"])
    op.create_index("ix_pipeline_runs_created_at", "pipeline_runs", ["created_at"])
    op.create_table(
        "step_runs",
        sa.Column("pipeline_run_id", sa.String(length=32), nullable=False),
        sa.Column("node", sa.String(length=256), nullable=False),
        sa.Column("step", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("cache_key", sa.String(length=80), nullable=True),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("tracking_run_id", sa.String(length=32), nullable=True),
        sa.Column("inputs", sa.Text(), server_default="{}", nullable=False),
        sa.Column("outputs", sa.Text(), server_default="{}", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pipeline_run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_step_runs_pipeline_run_id_pipeline_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pipeline_run_id", "node", name=op.f("pk_step_runs")),
    )
    op.create_index(op.f("ix_step_runs_cache_key"), "step_runs", ["cache_key"])
    op.create_table(
        "pipeline_cache",
        sa.Column("cache_key", sa.String(length=80), nullable=False),
        sa.Column("step", sa.String(length=512), nullable=False),
        sa.Column("outputs", sa.Text(), nullable=False),
        sa.Column("pipeline_run_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("cache_key", name=op.f("pk_pipeline_cache")),
    )


def downgrade() -> None:
    op.drop_table("pipeline_cache")
    op.drop_index(op.f("ix_step_runs_cache_key"), table_name="step_runs")
    op.drop_table("step_runs")
    op.drop_index("ix_pipeline_runs_created_at", table_name="pipeline_runs")
    op.drop_index("ix_pipeline_runs_pipeline_created_at", table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
