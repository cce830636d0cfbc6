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
# ``latest_version`` is the counter new version numbers come from (bumped in the same transaction).
registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False, server_default=""),
    sa.Column("description", sa.Text),
    sa.Column("fields", sa.Text, nullable=False, server_default="{}"),  # JSON: model-card fields
    sa.Column("latest_version", sa.Integer, nullable=False, server_default="0"),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(256), sa.ForeignKey("registered_models.name"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("model_uri", sa.Text, nullable=False),  # runs:/<run_id>/<path>
    sa.Column("run_id", Id, nullable=False, index=True),
    sa.Column("package_digest", sa.String(80), nullable=False, index=True),
    sa.Column("flavor", sa.String(64), nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("datasets", sa.Text, nullable=False, server_default="[]"),  # JSON: ["name@3", ...]
    sa.Column("commit", sa.String(64)),
    sa.Column("description", sa.Text),
    sa.UniqueConstraint("name", "version"),
)

# The current holder of each alias; moved only together with a row of alias_history.
aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("name", sa.String(256), sa.ForeignKey("registered_models.name"), primary_key=True),
    sa.Column("alias", sa.String(256), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
)

alias_history = sa.Table(
    "alias_history",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("alias", sa.String(256), nullable=False),
    sa.Column("from_version", sa.Integer),
    sa.Column("to_version", sa.Integer),  # NULL: the alias was emptied
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("at", Ms, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("action", sa.String(16), nullable=False),  # promote, override, rollback, remove
    sa.Column("report", sa.Text),  # JSON of the gate report, when a policy was checked
    sa.Index("ix_alias_history_name_alias", "name", "alias", "seq"),
)

policies = sa.Table(
    "policies",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("alias", sa.String(256), primary_key=True),
    sa.Column("gates", sa.Text, nullable=False),  # JSON: [{"kind": ..., "params": {...}}, ...]
    sa.Column("updated_by", sa.String(256), nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("alias", sa.String(256), primary_key=True),
    sa.Column("user", sa.String(256), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("at", Ms, nullable=False),
    sa.Column("comment", sa.Text),
)

evaluations = sa.Table(
    "evaluations",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("model_name", sa.String(256)),
    sa.Column("model_version", sa.Integer),
    sa.Column("package_digest", sa.String(80), nullable=False),
    sa.Column("model_uri", sa.Text, nullable=False),
    sa.Column("dataset_ref", sa.String(300), nullable=False),  # "name@3" or "<dataframe>"
    sa.Column("dataset_digest", sa.String(80), nullable=False),
    sa.Column("target", sa.String(256), nullable=False),
    sa.Column("task", sa.String(16), nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),  # JSON objects from here on
    sa.Column("confusion_matrix", sa.Text),
    sa.Column("slices", sa.Text, nullable=False),
    sa.Column("fairness", sa.Text, nullable=False),
    sa.Column("plots", sa.Text, nullable=False),  # {name: content digest}
    sa.Column("n_rows", sa.BigInteger, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Index("ix_evaluations_package_dataset", "package_digest", "dataset_digest"),
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("events", sa.Text, nullable=False),  # JSON list of event names, "*" for all
    sa.Column("secret", sa.Text),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("webhook_id", Id, sa.ForeignKey("webhooks.id"), nullable=False, index=True),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending, delivered, failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("response_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("delivered_at", Ms),
)

# -- features (migration 0004) ----------------------------------------------------------
# One row per version of a named definition; ``spec`` is its canonical JSON, ``digest`` the
# blake3 of that JSON, so re-applying an unchanged definition writes nothing.
feature_definitions = sa.Table(
    "feature_definitions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),  # entity, feature_view, on_demand, feature_service
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(80), nullable=False),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False, server_default=""),
    sa.UniqueConstraint("kind", "name", "version"),
)

# How far each feature view was materialised into the online store.
feature_watermarks = sa.Table(
    "feature_watermarks",
    metadata,
    sa.Column("view", sa.String(256), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("start_ms", Ms),
    sa.Column("end_ms", Ms, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(256), nullable=False, server_default=""),
)


# -- pipelines (migration 0005) ---------------------------------------------------------
# One row per pipeline run. ``params``, ``graph`` and ``outputs`` are JSON; ``source`` is the
# ``module:attribute`` the pipeline is imported from (what ``resume`` needs).
pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("pipeline", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("ended_at", Ms),
    sa.Column("executor", sa.String(32), nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("tracking_run_id", Id),
    sa.Column("resumed_from", Id),
    sa.Column("created_by", sa.String(256), nullable=False, server_default=""),
    sa.Column("error", sa.Text),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("graph", sa.Text, nullable=False, server_default="{}"),
    sa.Column("outputs", sa.Text, nullable=False, server_default="{}"),
    sa.Index("ix_pipeline_runs_pipeline_created_at", "pipeline", "created_at"),
    sa.Index("ix_pipeline_runs_created_at", "created_at"),
)

# One row per node of a pipeline run. ``inputs`` is JSON {argument: digest}; ``outputs`` is
# JSON {output: [digest, materializer, size]}; ``error`` the traceback of the last attempt.
step_runs = sa.Table(
    "step_runs",
    metadata,
    sa.Column("pipeline_run_id", Id, sa.ForeignKey("pipeline_runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("node", sa.String(256), primary_key=True),
    sa.Column("step", sa.String(512), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("started_at", Ms),
    sa.Column("ended_at", Ms),
    sa.Column("duration_ms", Ms),
    sa.Column("cache_key", sa.String(80), index=True),
    sa.Column("cache_hit", sa.Boolean, nullable=False),
    sa.Column("tracking_run_id", Id),
    sa.Column("inputs", sa.Text, nullable=False, server_default="{}"),
    sa.Column("outputs", sa.Text, nullable=False, server_default="{}"),
    sa.Column("error", sa.Text),
)

# The step cache: cache key -> the outputs a successful run produced (JSON, as in step_runs).
pipeline_cache = sa.Table(
    "pipeline_cache",
    metadata,
    sa.Column("cache_key", sa.String(80), primary_key=True),
    sa.Column("step", sa.String(512), nullable=False),
    sa.Column("outputs", sa.Text, nullable=False),
    sa.Column("pipeline_run_id", Id, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
)

# -- serving (migration 0006) -----------------------------------------------------------
# One row per deployment; ``latest_version`` is the counter spec versions come from (bumped in
# the same transaction). An undeployed deployment keeps its row and history (``deleted_at``).
deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False, server_default=""),
    sa.Column("latest_version", sa.Integer, nullable=False),
    sa.Column("deleted_at", Ms),
)

# Every version of every spec, never changed once written. ``spec`` is the JSON of the routes,
# feature service, batching and routing key (DeploymentSpec.content()).
deployment_specs = sa.Table(
    "deployment_specs",
    metadata,
    sa.Column("deployment", sa.String(128), sa.ForeignKey("deployments.name"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False, server_default=""),
    sa.Column("reason", sa.Text),
)

# The last status the data plane reported for each route.
route_status = sa.Table(
    "route_status",
    metadata,
    sa.Column("deployment", sa.String(128), sa.ForeignKey("deployments.name"), primary_key=True),
    sa.Column("route", sa.String(64), primary_key=True),
    sa.Column("model_version", sa.String(300)),  # "fraud:7"
    sa.Column("state", sa.String(16), nullable=False),  # ready, loading, failed
    sa.Column("error", sa.Text),
    sa.Column("updated_at", Ms, nullable=False),
)

# The index of the prediction log: one row per Parquet segment in the content store.
prediction_segments = sa.Table(
    "prediction_segments",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("deployment", sa.String(128), nullable=False),
    sa.Column("digest", sa.String(80), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("min_ts", Ms, nullable=False),
    sa.Column("max_ts", Ms, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Index("ix_prediction_segments_deployment_min_ts", "deployment", "min_ts"),
)

# Feedback: the true label of a prediction, by request id (JSON value), sent later.
prediction_labels = sa.Table(
    "prediction_labels",
    metadata,
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("deployment", sa.String(128), nullable=False, index=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("ts", Ms, nullable=False),
    sa.Column("recorded_at", Ms, nullable=False),
)


# -- monitoring (migration 0007) --------------------------------------------------------
# Every version of every monitor spec (JSON: deployment, reference, window, checks, actions, cooldown).
monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False, server_default=""),
)

# One row per evaluation of a monitor; ``result`` is the JSON of MonitorResult (checks, actions).
monitor_results = sa.Table(
    "monitor_results",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("monitor", sa.String(128), nullable=False),
    sa.Column("monitor_version", sa.Integer, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("n_predictions", sa.BigInteger, nullable=False),
    sa.Column("result", sa.Text, nullable=False),
    sa.Index("ix_monitor_results_monitor_created_at", "monitor", "created_at"),
)

# Alerts of monitors' checks (firing or resolved), each tied to the result that raised it.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("monitor", sa.String(128), nullable=False),
    sa.Column("check", sa.String(200), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("fired_at", Ms, nullable=False),
    sa.Column("last_seen_at", Ms, nullable=False),
    sa.Column("resolved_at", Ms),
    sa.Column("result_id", Id, nullable=False),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("value", sa.Float),
    sa.Column("count", sa.Integer, nullable=False, server_default="1"),
    sa.Index("ix_alerts_monitor_state", "monitor", "state"),
)

# -- scheduler and tuning (migration 0008) ---------------------------------------------
# Pipelines the scheduler starts (by import ref): on a cron schedule and on events (``triggers``,
# JSON). ``cron_at`` and ``audit_seq`` are the trigger state: the last cron time and the last audit
# event already considered; both only move forward.
schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("ref", sa.String(512), nullable=False, unique=True),
    sa.Column("pipeline", sa.String(256), nullable=False),
    sa.Column("cron", sa.String(128)),
    sa.Column("triggers", sa.Text, nullable=False, server_default="[]"),
    sa.Column("catchup", sa.Boolean, nullable=False),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False, server_default=""),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("cron_at", Ms, nullable=False),
    sa.Column("audit_seq", sa.BigInteger, nullable=False),
)

# One row per event that starts a pipeline; the primary key is the claim: of two schedulers that
# see the same event, the one whose insert commits first runs it, the other gets an IntegrityError.
# ``schedule_id`` is a schedule's id, or "manual" for requests; ``event_key`` is "cron:<ms>",
# "audit:<seq>" or "request:<id>".
schedule_claims = sa.Table(
    "schedule_claims",
    metadata,
    sa.Column("schedule_id", sa.String(64), primary_key=True),
    sa.Column("event_key", sa.String(128), primary_key=True),
    sa.Column("ref", sa.String(512), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("claimed_at", Ms, nullable=False),
    sa.Column("claimed_by", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("pipeline_run_id", Id),
    sa.Column("ended_at", Ms),
    sa.Column("error", sa.Text),
    sa.Index("ix_schedule_claims_claimed_at", "claimed_at"),
)

# Pipeline runs asked for by code (``start_pipeline``, monitoring's retrain action): pending until
# a scheduler claims one (status "claimed", in the claim's transaction) and runs it.
pipeline_requests = sa.Table(
    "pipeline_requests",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("ref", sa.String(512), nullable=False),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("requested_at", Ms, nullable=False),
    sa.Column("requested_by", sa.String(256), nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Index("ix_pipeline_requests_status_requested_at", "status", "requested_at"),
)

# Optuna's journal (every change to every study, in order): tuning studies live in the metadata
# database through a journal backend of our own, so no Optuna tables or second alembic history.
tuning_journal = sa.Table(
    "tuning_journal",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("log", sa.Text, nullable=False),
)
