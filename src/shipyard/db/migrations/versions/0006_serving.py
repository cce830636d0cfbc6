"""serving

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 07:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=256), server_default="", nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_deployments")),
    )
    op.create_table(
        "deployment_specs",
        sa.Column("deployment", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=256), server_default="", nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deployment"], ["deployments.name"], name=op.f("fk_deployment_specs_deployment_deployments")
        ),
        sa.PrimaryKeyConstraint("deployment", "version", name=op.f("pk_deployment_specs")),
    )
    op.create_table(
        "route_status",
        sa.Column("deployment", sa.String(length=128), nullable=False),
        sa.Column("route", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=300), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment"], ["deployments.name"], name=op.f("fk_route_status_deployment_deployments")
        ),
        sa.PrimaryKeyConstraint("deployment", "route", name=op.f("pk_route_status")),
    )
    op.create_table(
        "prediction_segments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("deployment", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("min_ts", sa.BigInteger(), nullable=False),
        sa.Column("max_ts", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_segments")),
    )
    op.create_index(
        "ix_prediction_segments_deployment_min_ts", "prediction_segments", ["deployment", "min_ts"]
    )
    op.create_table(
        "prediction_labels",
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("deployment", sa.String(length=128), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_prediction_labels")),
    )
    op.create_index(op.f("ix_prediction_labels_deployment"), "prediction_labels", ["deployment"])


def downgrade() -> None:
    op.drop_index(op.f("ix_prediction_labels_deployment"), table_name="prediction_labels")
    op.drop_table("prediction_labels")
    op.drop_index("ix_prediction_segments_deployment_min_ts", table_name="prediction_segments")
    op.drop_table("prediction_segments")
    op.drop_table("route_status")
    op.drop_table("deployment_specs")
    op.drop_table("deployments")
