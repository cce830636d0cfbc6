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
    from shipyard.governance.service import AuditService, AuthService
    from shipyard.storage.cas import ContentStore
    from shipyard.tracking.service import TrackingService
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
        return TrackingService(store, audit=audit, content=self.content)

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

    def close(self) -> None:
        """Release what the built services hold (connections, HTTP clients)."""
        for name in ("tracking", "datasets"):
            service = self.__dict__.get(name)
            if service is not None:
                service.store.close()
        validation = self.__dict__.get("validation")
        if validation is not None:
            validation.close()
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
