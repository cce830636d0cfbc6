"""The composition root: settings in, wired services out.

A :class:`Workspace` builds each service on first use from the backends its
settings name. The SDK keeps one per process; the server builds one for its
database and artifact store; the CLI builds one per command.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

from shipyard.core.config import Settings, load_settings
from shipyard.core.plugins import resolve

if TYPE_CHECKING:
    from shipyard.datasets.service import DatasetService
    from shipyard.features.service import FeaturesService
    from shipyard.governance.service import AuditService, AuthService
    from shipyard.models.service import ModelService
    from shipyard.models.uris import ModelRef
    from shipyard.monitoring.monitors import MonitorService
    from shipyard.monitoring.service import MonitoringService
    from shipyard.pipelines.scheduler import SchedulerService
    from shipyard.pipelines.service import PipelineService
    from shipyard.registry.models import Delivery
    from shipyard.registry.service import RegistryService
    from shipyard.registry.webhooks import WebhookDispatcher
    from shipyard.serving.service import ServingService
    from shipyard.storage.cas import ContentStore
    from shipyard.tracking.service import TrackingService
    from shipyard.tuning.service import TuningService
    from shipyard.validation.service import ValidationService


class Workspace:
    """Services of one Shipyard deployment (embedded home or remote server)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()

    def _store(self, table_path: str, kind: str) -> Any:
        module, _, attr = table_path.partition(":")
        import importlib

        table = getattr(importlib.import_module(module), attr)
        cls = resolve(table, self.settings.uri, kind)
        if self.settings.is_remote:
            return cls(self.settings.uri, token=self.settings.token, timeout=self.settings.http_timeout_s)
        return cls(self.settings.uri)

    @cached_property
    def content(self) -> ContentStore:
        """Content-addressed artifact storage (over REST in remote mode)."""
        if self.settings.is_remote:
            from shipyard.client.content import RestContentStore

            return RestContentStore(
                self.settings.uri,
                token=self.settings.token,  # type: ignore[return-value]
                timeout=self.settings.http_timeout_s,
            )
        from shipyard.storage import open_blob_store
        from shipyard.storage.cas import ContentStore

        return ContentStore(open_blob_store(self.settings.artifacts_uri, self.settings.s3_endpoint_url))

    @cached_property
    def audit(self) -> AuditService:
        from shipyard.governance.service import AuditService

        return AuditService(self._store("shipyard.governance.store:AUDIT_STORES", "audit store"))

    @cached_property
    def auth(self) -> AuthService:
        from shipyard.governance.service import AuthService

        store = self._store("shipyard.governance.store:AUTH_STORES", "auth store")
        # A server records its own audit events for the changes made through it.
        return AuthService(store, None if self.settings.is_remote else self.audit)

    @cached_property
    def tracking(self) -> TrackingService:
        from shipyard.tracking.service import TrackingService

        store = self._store("shipyard.tracking.store:TRACKING_STORES", "tracking store")
        # A server records its own audit events; a client must not record them twice.
        audit = None if self.settings.is_remote else self.audit
        return TrackingService(
            store,
            audit=audit,
            content=self.content,
            model_logger=lambda run_id, model, **options: self.models.log_model(run_id, model, **options),
        )

    @cached_property
    def datasets(self) -> DatasetService:
        from shipyard.datasets.service import DatasetService

        store = self._store("shipyard.datasets.store:DATASET_STORES", "dataset store")
        audit = None if self.settings.is_remote else self.audit
        return DatasetService(store, self.content, audit=audit, home=self.settings.home)

    @cached_property
    def validation(self) -> ValidationService:
        """Validation suites and their stored results (stored on the server in remote mode)."""
        from shipyard.validation.service import ValidationService

        remote = self.settings.is_remote
        return ValidationService(
            lambda: self._store("shipyard.validation.store:VALIDATION_STORES", "validation store"),
            lambda: self.datasets,
            None if remote else (lambda: self.audit),
        )

    @cached_property
    def models(self) -> ModelService:
        """Model packages: logged as run artifacts, loaded verified through ``<home>/cache/models``."""
        from shipyard.models.service import ModelService

        return ModelService(
            self.tracking, self.content, self.settings.home / "cache" / "models", self._resolve_registered
        )

    @cached_property
    def registry(self) -> RegistryService:
        """The model registry. Embedded, the local user acts as an admin (see ``docs/registry.md``);
        events go to the registered webhooks from a background thread. Remote, a
        :class:`~shipyard.registry.rest.RestRegistry`: the server checks roles and runs the gates."""
        from shipyard.registry.service import RegistryService

        remote = self.settings.is_remote
        if remote:  # the server runs the gates and keeps the records; evaluations are computed here
            from shipyard.registry.rest import RestRegistry

            s = self.settings
            return RestRegistry(  # type: ignore[return-value]
                s.uri,
                token=s.token,
                timeout=s.http_timeout_s,
                models=lambda: self.models,
                datasets=lambda: self.datasets,
                content=lambda: self.content,
            )
        return RegistryService(
            lambda: self._store("shipyard.registry.store:REGISTRY_STORES", "registry store"),
            models=lambda: self.models,
            tracking=lambda: self.tracking,
            datasets=lambda: self.datasets,
            validation=lambda: self.validation,
            content=lambda: self.content,
            audit=None if remote else (lambda: self.audit),
            notify=lambda event, payload: self.webhooks.notify(event, payload),
        )

    @cached_property
    def webhooks(self) -> WebhookDispatcher:
        """Sends registry events to the webhooks kept in the registry store (started on the first event)."""
        from shipyard.registry.webhooks import WebhookDispatcher

        store = self.registry.store

        def record(delivery: Delivery) -> None:
            store.save_delivery(delivery)

        return WebhookDispatcher(store.list_webhooks, record)

    def _resolve_registered(self, ref: ModelRef) -> tuple[str, str]:
        """(run id, path) of the package a registered version (``models:/...``) points at."""
        from shipyard.core.errors import InvalidInputError
        from shipyard.models.uris import parse_model_uri

        version = self.registry.resolve(ref)
        target = parse_model_uri(version.model_uri)
        if target.run_id is None or target.path is None:
            raise InvalidInputError(f"{ref} points at {version.model_uri}, which is not a run's package")
        return target.run_id, target.path

    @cached_property
    def pipelines(self) -> PipelineService:
        """Pipeline runs, their steps and the step cache (embedded only: no server routes yet)."""
        from shipyard.pipelines.execution import ContentSpec
        from shipyard.pipelines.service import PipelineService

        s = self.settings
        if s.is_remote:
            spec = ContentSpec(s.uri, remote=True, token=s.token, timeout=s.http_timeout_s)
        else:
            spec = ContentSpec(s.artifacts_uri, s.s3_endpoint_url)
        store = self._store("shipyard.pipelines.store:PIPELINE_STORES", "pipeline store")
        audit = None if s.is_remote else self.audit
        return PipelineService(
            store, self.tracking, self.content, spec, audit=audit, capture_packages=s.capture_packages
        )

    @cached_property
    def scheduler(self) -> SchedulerService:
        """Schedules, run requests and claims of ``shipyard scheduler`` (embedded only, like pipelines)."""
        from shipyard.pipelines.scheduler import SchedulerService

        store = self._store("shipyard.pipelines.store:SCHEDULE_STORES", "schedule store")
        return SchedulerService(store, self.pipelines, audit=self.audit)

    @cached_property
    def tuning(self) -> TuningService:
        """Hyperparameter searches: studies in the metadata database (an Optuna journal), trials as runs."""
        from shipyard.tuning.service import TuningService
        from shipyard.tuning.store import open_journal

        uri = self.settings.uri
        return TuningService(
            lambda: open_journal(uri),
            self.tracking,
            store_uri=None if uri.startswith("memory") else uri,
            audit=None if self.settings.is_remote else self.audit,
            capture_packages=self.settings.capture_packages,
        )

    @cached_property
    def features(self) -> FeaturesService:
        """The feature store: definitions in the metadata store, online values in ``settings.online_uri``
        (default ``<home>/online.db``). Retrieval and materialisation run here, on DuckDB."""
        from shipyard.features.onlinestore import open_online_store
        from shipyard.features.service import FeaturesService

        remote = self.settings.is_remote
        return FeaturesService(
            lambda: self._store("shipyard.features.store:FEATURE_STORES", "feature store"),
            datasets=lambda: self.datasets,
            online=lambda: open_online_store(self.settings.online_uri, self.settings.home),
            audit=None if remote else (lambda: self.audit),
            tracking=lambda: self.tracking,
        )

    @cached_property
    def serving(self) -> ServingService:
        """Deployments, the prediction log (Parquet segments in the artifact store, read through
        ``<home>/cache/predictions`` when not local), feedback and batch scoring."""
        from shipyard.pipelines.execution import ContentSpec
        from shipyard.serving.service import ServingService

        s = self.settings
        if s.is_remote:  # the server checks deploys; logging, reading and batch scoring run here
            from shipyard.serving.rest import RestServing

            return RestServing(  # type: ignore[return-value]
                s.uri,
                token=s.token,
                timeout=s.http_timeout_s,
                content=lambda: self.content,
                models=lambda: self.models,
                registry=lambda: self.registry,
                content_spec=ContentSpec(s.uri, remote=True, token=s.token, timeout=s.http_timeout_s),
            )
        spec = ContentSpec(s.artifacts_uri, s.s3_endpoint_url)
        return ServingService(
            lambda: self._store("shipyard.serving.store:SERVING_STORES", "serving store"),
            registry=lambda: self.registry,
            content=lambda: self.content,
            cache_dir=s.home / "cache" / "predictions",
            models=lambda: self.models,
            features=lambda: self.features,
            audit=lambda: self.audit,
            content_spec=spec,
        )

    @cached_property
    def monitoring(self) -> MonitoringService:
        """Drift, data quality and reference profiles; dataset versions' profiles are kept in the
        content store, found by version digest through ``<home>/cache/monitoring/profiles``."""
        from shipyard.monitoring.service import MonitoringService

        return MonitoringService(
            datasets=lambda: self.datasets,
            content=lambda: self.content,
            cache_dir=self.settings.home / "cache" / "monitoring" / "profiles",
        )

    @cached_property
    def monitors(self) -> MonitorService:
        """Monitors of deployments, their results and alerts. Remote, a
        :class:`~shipyard.monitoring.rest.RestMonitors`: the server checks, keeps and runs them."""
        from shipyard.monitoring.monitors import MonitorService

        s = self.settings
        if s.is_remote:
            from shipyard.monitoring.rest import RestMonitors

            return RestMonitors(  # type: ignore[return-value]
                s.uri, token=s.token, timeout=s.http_timeout_s, content=lambda: self.content
            )
        return MonitorService(
            lambda: self._store("shipyard.monitoring.store:MONITOR_STORES", "monitor store"),
            monitoring=lambda: self.monitoring,
            serving=lambda: self.serving,
            registry=lambda: self.registry,
            content=lambda: self.content,
            datasets=lambda: self.datasets,
            models=lambda: self.models,
            scheduler=lambda: self.scheduler,
            audit=lambda: self.audit,
        )

    def close(self) -> None:
        """Release what the built services hold (connections, HTTP clients)."""
        monitors = self.__dict__.get("monitors")
        if monitors is not None:
            monitors.close()
        serving = self.__dict__.get("serving")
        if serving is not None:  # first: its prediction logger writes to the stores below
            serving.close()
        for name in ("tracking", "datasets", "pipelines", "scheduler"):
            service = self.__dict__.get(name)
            if service is not None:
                service.store.close()
        validation = self.__dict__.get("validation")
        if validation is not None:
            validation.close()
        features = self.__dict__.get("features")
        if features is not None:
            features.close()
        webhooks = self.__dict__.get("webhooks")
        if webhooks is not None:  # deliver what is queued before the registry store closes
            webhooks.close()
        registry = self.__dict__.get("registry")
        if registry is not None:
            registry.close()
        for name in ("auth", "audit"):  # governance stores close only when they hold something
            close = getattr(getattr(self.__dict__.get(name), "store", None), "close", None)
            if close is not None:
                close()
        close = getattr(self.__dict__.get("content"), "close", None)
        if close is not None:
            close()


_current: Workspace | None = None
_lock = threading.Lock()


def current_workspace() -> Workspace:
    """The process-wide workspace of the SDK, built from the environment on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = Workspace()
        return _current


def set_workspace(workspace: Workspace | None) -> None:
    """Replace (or with None, forget) the process-wide workspace."""
    global _current
    with _lock:
        if _current is not None and _current is not workspace:
            _current.close()
        _current = workspace
