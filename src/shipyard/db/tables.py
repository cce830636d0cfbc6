"""Tables of the metadata store (SQLAlchemy Core). Migrations live in ``db/migrations``.

Times are integer milliseconds since the epoch. In ``latest_metrics`` a ``value`` of
NULL means NaN (SQLite cannot store NaN in a REAL column); +/-inf are stored as such.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = sa.String(32)
Ms = sa.BigInteger

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("tags", sa.Text, nullable=False, server_default="{}"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", Id, nullable=False, unique=True),
    sa.Column("experiment_id", Id, sa.ForeignKey("experiments.id"), nullable=False, index=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("start_time", Ms, nullable=False),
    sa.Column("end_time", Ms),
    sa.Column("heartbeat_at", Ms),
    sa.Column("error", sa.Text),
    sa.Column("lineage", sa.Text, nullable=False, server_default="{}"),
    # Denormalised copies (JSON objects) of params, tags and latest metric values, kept
    # in the same transaction as the rows they mirror, so search reads one row per run.
    sa.Column("params_json", sa.Text, nullable=False, server_default="{}"),
    sa.Column("tags_json", sa.Text, nullable=False, server_default="{}"),
    sa.Column("metrics_json", sa.Text, nullable=False, server_default="{}"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Metric points are stored columnar: one row per (run, key, written batch) holding
# little-endian int64 steps, int64 timestamps and float64 values (NaN and inf kept).
metric_chunks = sa.Table(
    "metric_chunks",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("steps", sa.LargeBinary, nullable=False),
    sa.Column("timestamps", sa.LargeBinary, nullable=False),
    sa.Column("vals", sa.LargeBinary, nullable=False),
    sa.Index("ix_metric_chunks_run_key", "run_pk", "key"),
)

latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", Ms, nullable=False),
    sa.Column("value", sa.Float(precision=53)),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("digest", sa.String(80), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", Ms, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("action", sa.String(128), nullable=False),
    sa.Column("target", sa.String(1024), nullable=False),
    sa.Column("payload_digest", sa.String(80), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(256), sa.ForeignKey("users.name"), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("revoked_at", Ms),
    sa.Column("last_used_at", Ms),
)

# -- datasets ---------------------------------------------------------------------------
datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("created_at", Ms, nullable=False),
)

# One row per version. ``manifest`` is a JSON list of [path, digest, size] sorted by path;
# ``digest`` is the blake3 of that canonical manifest, so equal content means equal digest.
dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("dataset_id", Id, sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(80), nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False, server_default=""),
    sa.Column("source_path", sa.Text),
    sa.Column("kind", sa.String(16), nullable=False),  # "file" or "folder"
    sa.Column("file_count", sa.Integer, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("manifest", sa.Text, nullable=False),
    sa.Column("schema", sa.Text),  # JSON: {file path: [[column, type], ...]} for tabular files
    sa.Column("row_count", sa.BigInteger),
    sa.Column("profile", sa.Text),  # JSON: {file path: {column: stats}}
    sa.UniqueConstraint("dataset_id", "version"),
    sa.Index("ix_dataset_versions_dataset_digest", "dataset_id", "digest"),
)

# -- validation -------------------------------------------------------------------------
validation_results = sa.Table(
    "validation_results",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("dataset_version_id", Id, sa.ForeignKey("dataset_versions.id"), index=True),
    sa.Column("data_ref", sa.Text, nullable=False),  # "name@3", a path, or "<dataframe>"
    sa.Column("suite_name", sa.String(256), nullable=False),
    sa.Column("suite_digest", sa.String(80), nullable=False, index=True),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("result", sa.Text, nullable=False),  # JSON of the ValidationResult
)

# -- run inputs (lineage from runs to the data they read) -------------------------------
run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),  # "dataset"
    sa.Column("ref", sa.String(300), primary_key=True),  # "name@3"
    sa.Column("context", sa.String(64), primary_key=True),  # "training", "validation", ...
    sa.Column("digest", sa.String(80), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
)

# -- registry, with model evaluations (migration 0003) --------------------------------

# -- features (migration 0004) ----------------------------------------------------------

# -- pipelines (migration 0005) ---------------------------------------------------------
