"""Entities of the serving domain: plain dataclasses, no I/O.

A deployment is a named, versioned :class:`DeploymentSpec`: its routes say which
model answers which share of the traffic. Every change (a new deploy, a weight
moved) is a new version of the spec; the old ones stay in the history.

A :class:`Route` names its model by a registry reference: ``"fraud@production"``
follows the alias (promote or roll back in the registry and the route follows),
``"fraud:7"`` pins a version. ``weight`` is the percentage of the live traffic the
route answers: the live routes (``primary``, ``canary``, ``ab``) sum to 100; a
``shadow`` route answers nobody (weight 0) and gets a copy of every request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict

ROUTE_MODES = ("primary", "canary", "ab", "shadow")
LIVE_MODES = ("primary", "canary", "ab")
ROUTE_STATES = ("ready", "loading", "failed")


@dataclass(frozen=True)
class Route:
    """One route of a deployment: ``name`` (unique in the spec), the model reference, its weight
    (percent of the live traffic, 0..100; 0 for a shadow) and its ``mode``."""

    name: str
    model: str
    weight: float = 100.0
    mode: str = "primary"

    @property
    def shadow(self) -> bool:
        return self.mode == "shadow"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "weight": self.weight, "mode": self.mode}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Route:
        return cls(str(data["name"]), str(data["model"]), float(data["weight"]), str(data["mode"]))


@dataclass(frozen=True)
class Batching:
    """Micro-batching of one route: up to ``max_batch_size`` requests, waiting at most ``max_wait_ms``."""

    max_batch_size: int = 64
    max_wait_ms: float = 2.0

    def to_dict(self) -> dict[str, Any]:
        return {"max_batch_size": self.max_batch_size, "max_wait_ms": self.max_wait_ms}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Batching:
        return cls(int(data["max_batch_size"]), float(data["max_wait_ms"]))


@dataclass(frozen=True)
class DeploymentSpec:
    """Version ``version`` of deployment ``name``: its routes, the feature service whose online
    features it reads (``features``), micro-batching, and the request field that makes route
    assignment sticky (``routing_key``; the ``X-Routing-Key`` header wins)."""

    name: str
    version: int
    routes: list[Route]
    features: str | None = None
    batching: Batching | None = None
    routing_key: str | None = None
    created_at: int = 0
    created_by: str = ""
    reason: str | None = None

    @property
    def live_routes(self) -> list[Route]:
        """The routes that answer requests (every mode but shadow)."""
        return [r for r in self.routes if not r.shadow]

    @property
    def shadow_routes(self) -> list[Route]:
        return [r for r in self.routes if r.shadow]

    def route(self, name: str) -> Route | None:
        """The route called ``name``, or None."""
        return next((r for r in self.routes if r.name == name), None)

    def content(self) -> dict[str, Any]:
        """What the spec says (routes, features, batching, routing key), without who, when and why:
        two versions with equal content describe the same deployment."""
        return {
            "routes": [r.to_dict() for r in self.routes],
            "features": self.features,
            "batching": None if self.batching is None else self.batching.to_dict(),
            "routing_key": self.routing_key,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            **self.content(),
            "created_at": self.created_at,
            "created_by": self.created_by,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeploymentSpec:
        batching = data.get("batching")
        return cls(
            name=str(data["name"]),
            version=int(data.get("version") or 0),
            routes=[Route.from_dict(r) for r in data.get("routes") or []],
            features=data.get("features"),
            batching=None if batching is None else Batching.from_dict(batching),
            routing_key=data.get("routing_key"),
            created_at=int(data.get("created_at") or 0),
            created_by=str(data.get("created_by") or ""),
            reason=data.get("reason"),
        )


@dataclass(frozen=True)
class RouteStatus:
    """What the data plane reports about one route: the model version it serves (``"fraud:7"``),
    ``state`` (``ready``, ``loading``, ``failed``) and, when loading failed, the error."""

    route: str
    model_version: str | None
    state: str
    error: str | None = None
    updated_at: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "model_version": self.model_version,
            "state": self.state,
            "error": self.error,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RouteStatus:
        return cls(
            str(data["route"]),
            data.get("model_version"),
            str(data["state"]),
            data.get("error"),
            int(data.get("updated_at") or 0),
        )


@dataclass(frozen=True)
class Deployment:
    """A deployment now: its latest spec and the last status reported for each of its routes
    (``statuses`` by route name; a route nothing was reported for is absent)."""

    name: str
    spec: DeploymentSpec
    statuses: dict[str, RouteStatus] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        statuses = {name: s.to_dict() for name, s in sorted(self.statuses.items())}
        return {"name": self.name, "spec": self.spec.to_dict(), "statuses": statuses}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        statuses = {str(k): RouteStatus.from_dict(v) for k, v in (data.get("statuses") or {}).items()}
        return cls(str(data["name"]), DeploymentSpec.from_dict(data["spec"]), statuses)


@dataclass(frozen=True)
class ResolvedRoute:
    """A route with its model reference resolved through the registry, now."""

    route: Route
    model_name: str
    model_version: int
    model_uri: str
    package_digest: str

    @property
    def ref(self) -> str:
        """``"fraud:7"``: how a prediction record names the version that made it."""
        return f"{self.model_name}:{self.model_version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": self.route.to_dict(),
            "model_name": self.model_name,
            "model_version": self.model_version,
            "model_uri": self.model_uri,
            "package_digest": self.package_digest,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResolvedRoute:
        return cls(
            Route.from_dict(data["route"]),
            str(data["model_name"]),
            int(data["model_version"]),
            str(data["model_uri"]),
            str(data["package_digest"]),
        )


@dataclass(frozen=True)
class PredictionSegment:
    """The index row of one Parquet segment of the prediction log: ``rows`` predictions of
    ``deployment`` made between ``min_ts`` and ``max_ts`` (ms, inclusive), stored under ``digest``."""

    id: str
    deployment: str
    digest: str
    rows: int
    min_ts: int
    max_ts: int
    created_at: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "deployment": self.deployment,
            "digest": self.digest,
            "rows": self.rows,
            "min_ts": self.min_ts,
            "max_ts": self.max_ts,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Label:
    """The true outcome of one prediction, sent later as feedback: ``label`` is any JSON value,
    ``ts`` when it was observed (ms), ``recorded_at`` when it arrived."""

    request_id: str
    deployment: str
    label: Any
    ts: int
    recorded_at: int


class FeedbackResult(TypedDict):
    """What :meth:`~shipyard.serving.service.ServingService.record_feedback` answers: how many labels
    were stored, and the request ids no logged prediction has (nothing stored for those)."""

    accepted: int
    unknown: list[str]
