"""A thread-safe, in-process serving store: the reference for every other backend.

>>> from shipyard.serving.models import DeploymentSpec, Route
>>> store = MemoryServingStore()
>>> store.create_spec(DeploymentSpec("fraud", 0, [Route("primary", "fraud@production")])).version
1
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError
from shipyard.serving.models import DeploymentSpec, Label, PredictionSegment, RouteStatus
from shipyard.serving.store.base import ServingStore


class MemoryServingStore(ServingStore):
    """Everything in dictionaries behind one lock."""

    def __init__(self, uri: str = "memory://") -> None:
        self.uri = uri
        self._lock = threading.RLock()
        self._specs: dict[str, list[DeploymentSpec]] = {}
        self._deleted: dict[str, int] = {}
        self._statuses: dict[str, dict[str, RouteStatus]] = {}
        self._segments: dict[str, PredictionSegment] = {}
        self._labels: dict[str, Label] = {}

    # -- specs ----------------------------------------------------------------------
    def create_spec(self, draft: DeploymentSpec, expected_version: int | None = None) -> DeploymentSpec:
        with self._lock:
            versions = self._specs.setdefault(draft.name, [])
            current = len(versions)
            if expected_version is not None and expected_version != current:
                raise _moved(draft.name, current, expected_version)
            spec = dataclasses.replace(draft, version=current + 1, routes=list(draft.routes))
            versions.append(spec)
            self._deleted.pop(draft.name, None)
            return spec

    def get_spec(self, name: str, version: int | None = None) -> DeploymentSpec:
        with self._lock:
            versions = self._specs.get(name)
            if not versions:
                raise NotFoundError(f"deployment {name!r} not found")
            if version is None:
                if name in self._deleted:
                    raise _undeployed(name)
                return versions[-1]
            if not 1 <= version <= len(versions):
                raise NotFoundError(f"deployment {name!r} has no version {version} (latest: {len(versions)})")
            return versions[version - 1]

    def list_specs(self, limit: int = 1000, offset: int = 0) -> list[DeploymentSpec]:
        with self._lock:
            live = [v[-1] for name, v in sorted(self._specs.items()) if v and name not in self._deleted]
        return live[offset : offset + limit]

    def list_history(self, name: str) -> list[DeploymentSpec]:
        with self._lock:
            versions = self._specs.get(name)
            if not versions:
                raise NotFoundError(f"deployment {name!r} not found")
            return list(versions)

    def delete_deployment(self, name: str, at: int) -> None:
        with self._lock:
            self.get_spec(name)
            self._deleted[name] = at
            self._statuses.pop(name, None)

    # -- route statuses -------------------------------------------------------------
    def set_status(self, name: str, status: RouteStatus) -> None:
        with self._lock:
            self.get_spec(name)
            self._statuses.setdefault(name, {})[status.route] = status

    def list_statuses(self, name: str) -> list[RouteStatus]:
        with self._lock:
            found = self._statuses.get(name, {})
            return [found[route] for route in sorted(found)]

    # -- the prediction log's index -------------------------------------------------
    def add_segment(self, segment: PredictionSegment) -> None:
        with self._lock:
            if segment.id in self._segments:
                raise AlreadyExistsError(f"prediction segment {segment.id!r} already exists")
            self._segments[segment.id] = segment

    def list_segments(
        self, deployment: str | None = None, start: int | None = None, end: int | None = None
    ) -> list[PredictionSegment]:
        with self._lock:
            found = [
                s
                for s in self._segments.values()
                if (deployment is None or s.deployment == deployment)
                and (start is None or s.max_ts >= start)
                and (end is None or s.min_ts < end)
            ]
        return sorted(found, key=lambda s: (s.min_ts, s.id))

    # -- feedback -------------------------------------------------------------------
    def save_labels(self, labels: Sequence[Label]) -> None:
        with self._lock:
            for label in labels:
                self._labels[label.request_id] = label

    def find_labels(self, request_ids: Sequence[str]) -> list[Label]:
        with self._lock:
            found = [self._labels[i] for i in set(request_ids) if i in self._labels]
        return sorted(found, key=lambda label: label.request_id)

    def list_labels(self, deployment: str) -> list[Label]:
        with self._lock:
            found = [label for label in self._labels.values() if label.deployment == deployment]
        return sorted(found, key=lambda label: label.request_id)


def _moved(name: str, current: int, expected: int) -> ConflictError:
    return ConflictError(
        f"deployment {name!r} is at version {current}, not {expected}: it was changed meanwhile; try again",
        details={"current": current, "expected": expected},
    )


def _undeployed(name: str) -> NotFoundError:
    return NotFoundError(
        f"deployment {name!r} was undeployed; its history remains (shipyard deployments history {name})"
    )
