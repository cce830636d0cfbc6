"""Building and checking deployment specs from what users type (no I/O).

The route syntax of ``sy.deploy`` and ``shipyard deploy``:

- ``model="fraud@production"``: the primary route (a registry reference: an alias is
  followed, ``fraud:7`` pins a version);
- ``canary="fraud:7=10%"``: a canary taking 10% of the live traffic from the primary
  (several, comma-separated, take their shares in turn);
- ``ab="fraud:5=50%,fraud:6=50%"``: A/B routes that replace the primary; with a canary
  beside them they share what the canary leaves;
- ``shadow="fraud:8"``: a shadow route, copied every request and never answering, so
  it takes no weight.

>>> for r in build_routes("fraud@production", "fraud:7=10%", "fraud:8"):
...     print(r.name, r.model, r.weight, r.mode)
primary fraud@production 90.0 primary
canary fraud:7 10.0 canary
shadow fraud:8 0.0 shadow
>>> parse_weighted("fraud:5=50%,fraud:6=50%", "ab")
[('fraud:5', 50.0), ('fraud:6', 50.0)]
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from shipyard.core.errors import InvalidInputError
from shipyard.serving.models import LIVE_MODES, ROUTE_MODES, Batching, Route

MAX_NAME_LENGTH = 128
MAX_ROUTES = 16
MAX_BATCH_SIZE = 10_000
MAX_WAIT_MS = 1_000.0
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_PERCENT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*%?\s*")
TOLERANCE = 1e-6

RouteArg = str | Route | Sequence[str | Route] | None


def check_deployment_name(name: object) -> str:
    """``name`` if it is a valid deployment name (it appears in URLs), else :class:`InvalidInputError`.

    >>> check_deployment_name("fraud-eu")
    'fraud-eu'
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(
            f"invalid deployment name {name!r}: use letters, digits, '_', '-' and '.', starting with a "
            f"letter or digit, at most {MAX_NAME_LENGTH} characters"
        )
    return name


def check_model_ref(model: object, route: str) -> str:
    """``model`` if it names a registered version or alias (``fraud@production``, ``fraud:7``)."""
    from shipyard.models.uris import parse_model_uri

    try:
        ref = parse_model_uri(model)
    except InvalidInputError as exc:
        raise InvalidInputError(f"route {route!r}: {exc.message}") from None
    if ref.kind == "run":
        raise InvalidInputError(
            f"route {route!r}: {model!r} is a run's package; deploy a registered model "
            "(NAME@ALIAS or NAME:VERSION): register it with `shipyard models register` first"
        )
    return str(model)


def parse_percent(text: str, where: str) -> float:
    """``"10%"``, ``"10"`` or ``"12.5%"`` as a number of percent in 0..100.

    >>> parse_percent("12.5%", "canary")
    12.5
    """
    match = _PERCENT.fullmatch(text)
    if match is None:
        raise InvalidInputError(
            f"{where}: bad weight {text!r}; write a percentage between 0 and 100, like 10%"
        )
    value = float(match.group(1))
    if value > 100:
        raise InvalidInputError(f"{where}: weight {text!r} is over 100%")
    return value


def parse_weighted(text: str, what: str) -> list[tuple[str, float]]:
    """``"MODEL=W%[,MODEL=W%...]"`` as ``[(model, weight)]``."""
    items = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in items):
        raise InvalidInputError(f"{what}: expected MODEL=WEIGHT% (comma-separated), got {text!r}")
    parsed = []
    for item in items:
        model, sep, weight = item.rpartition("=")
        if not sep or not model.strip():
            raise InvalidInputError(f"{what}: {item!r} has no weight; write MODEL=WEIGHT%, like fraud:7=10%")
        parsed.append((model.strip(), parse_percent(weight, f"{what} {model.strip()!r}")))
    return parsed


def _items(value: RouteArg) -> list[str | Route]:
    if value is None:
        return []
    if isinstance(value, str | Route):
        return [value]
    return list(value)


def _weighted(value: RouteArg, mode: str) -> list[Route]:
    """Routes of ``mode`` from strings ``MODEL=W%`` (comma-separated allowed) or Route objects."""
    routes: list[Route] = []
    for item in _items(value):
        if isinstance(item, Route):
            routes.append(_own_mode(item, mode))
            continue
        if not isinstance(item, str):
            raise InvalidInputError(f"{mode}: expected 'MODEL=WEIGHT%' or a Route, got {item!r}")
        for model, weight in parse_weighted(item, mode):
            routes.append(Route("", model, weight, mode))
    return routes


def _shadows(value: RouteArg) -> list[Route]:
    routes: list[Route] = []
    for item in _items(value):
        if isinstance(item, Route):
            routes.append(_own_mode(item, "shadow"))
            continue
        if not isinstance(item, str):
            raise InvalidInputError(f"shadow: expected a model reference or a Route, got {item!r}")
        for model in item.split(","):
            if "=" in model:
                raise InvalidInputError(
                    f"shadow {model.strip()!r}: a shadow takes no weight (it gets a copy of every "
                    "request and answers none); write just the model, like fraud:8"
                )
            routes.append(Route("", model.strip(), 0.0, "shadow"))
    return routes


def _own_mode(route: Route, mode: str) -> Route:
    if route.mode != mode:
        raise InvalidInputError(f"route {route.name!r} has mode {route.mode!r} but was given as a {mode}")
    return route


def build_routes(
    model: str | Route | None, canary: RouteArg = None, shadow: RouteArg = None, ab: RouteArg = None
) -> list[Route]:
    """The routes of a deploy call, named and weighted (the primary takes what canaries leave)."""
    ab_routes, canaries, shadows = _weighted(ab, "ab"), _weighted(canary, "canary"), _shadows(shadow)
    if model is not None and ab_routes:
        raise InvalidInputError("A/B routes replace the primary route: give either model or ab, not both")
    if model is None and not ab_routes:
        raise InvalidInputError(
            "nothing to serve: give the model (e.g. model='fraud@production') or ab routes"
        )
    taken = sum(r.weight for r in canaries)
    if taken > 100 + TOLERANCE:
        raise InvalidInputError(f"the canaries take {taken:g}% of the traffic, more than 100%")
    routes: list[Route] = []
    if model is not None:
        primary = model if isinstance(model, Route) else Route("primary", model, 100.0, "primary")
        routes.append(_own_mode(primary, "primary"))
        if primary.weight == 100.0 and taken:  # the primary gives the canaries their share
            routes[0] = Route(primary.name, primary.model, round(100.0 - taken, 6), "primary")
    routes += _named(ab_routes, "ab", numbered=True)
    routes += _named(canaries, "canary", numbered=False)
    routes += _named(shadows, "shadow", numbered=False)
    return routes


def _named(routes: list[Route], stem: str, *, numbered: bool) -> list[Route]:
    """Unnamed routes get ``stem`` (then ``stem-2``...) or ``stem-1``, ``stem-2``... when ``numbered``."""
    named = []
    for i, route in enumerate(routes, start=1):
        if route.name:
            named.append(route)
            continue
        name = f"{stem}-{i}" if numbered or i > 1 else stem
        named.append(Route(name, route.model, route.weight, route.mode))
    return named


def check_routes(routes: Sequence[Route]) -> list[Route]:
    """``routes`` if they make a servable deployment, else :class:`InvalidInputError` saying why."""
    if not routes:
        raise InvalidInputError("a deployment needs at least one route")
    if len(routes) > MAX_ROUTES:
        raise InvalidInputError(f"a deployment has at most {MAX_ROUTES} routes, got {len(routes)}")
    seen: set[str] = set()
    for route in routes:
        _check_route(route)
        if route.name in seen:
            raise InvalidInputError(f"two routes are named {route.name!r}; route names must be unique")
        seen.add(route.name)
    if sum(r.mode == "primary" for r in routes) > 1:
        raise InvalidInputError("a deployment has at most one primary route")
    live = [r for r in routes if r.mode in LIVE_MODES]
    if not live:
        raise InvalidInputError("a deployment needs a live route (primary, canary or ab), not only shadows")
    total = sum(r.weight for r in live)
    if abs(total - 100.0) > TOLERANCE:
        shares = ", ".join(f"{r.name} {r.weight:g}%" for r in live)
        raise InvalidInputError(f"the weights of the live routes must sum to 100%, got {total:g}% ({shares})")
    return list(routes)


def _check_route(route: Route) -> None:
    if not isinstance(route.name, str) or not _NAME.fullmatch(route.name) or len(route.name) > 64:
        raise InvalidInputError(f"invalid route name {route.name!r}: use letters, digits, '_', '-', '.'")
    if route.mode not in ROUTE_MODES:
        raise InvalidInputError(
            f"route {route.name!r}: unknown mode {route.mode!r}; use {', '.join(ROUTE_MODES)}"
        )
    weight = route.weight
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
        raise InvalidInputError(
            f"route {route.name!r}: the weight must be a number of percent, got {weight!r}"
        )
    if route.shadow and weight != 0:
        raise InvalidInputError(
            f"shadow route {route.name!r} has weight {weight:g}%: a shadow takes no weight "
            "(it gets a copy of every request and answers none)"
        )
    if not 0 <= weight <= 100:
        raise InvalidInputError(f"route {route.name!r}: weight {weight:g}% is outside 0..100")
    check_model_ref(route.model, route.name)


def check_batching(batching: Batching | Mapping[str, Any] | None) -> Batching | None:
    """``batching`` as a :class:`Batching` within limits (a dict with its fields works too)."""
    if batching is None:
        return None
    if isinstance(batching, Mapping):
        unknown = set(batching) - {"max_batch_size", "max_wait_ms"}
        if unknown:
            raise InvalidInputError(f"batching: unknown field(s) {', '.join(sorted(unknown))}")
        batching = Batching(**batching)
    if not isinstance(batching, Batching):
        raise InvalidInputError(f"batching must be a Batching or a dict, got {type(batching).__name__}")
    size, wait = batching.max_batch_size, batching.max_wait_ms
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_BATCH_SIZE:
        raise InvalidInputError(
            f"batching: max_batch_size must be an integer in 1..{MAX_BATCH_SIZE}, got {size!r}"
        )
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not 0 <= wait <= MAX_WAIT_MS:
        raise InvalidInputError(f"batching: max_wait_ms must be a number in 0..{MAX_WAIT_MS:g}, got {wait!r}")
    return Batching(size, float(wait))


def check_field(value: str | None, what: str) -> str | None:
    """An optional field or service name (``routing_key``, ``features``)."""
    if value is None:
        return None
    if not isinstance(value, str) or not _FIELD.fullmatch(value) or len(value) > 256:
        raise InvalidInputError(f"invalid {what} {value!r}: a name of letters, digits, '_', '-', '.'")
    return value


def reweight(routes: Sequence[Route], name: str, weight: float | str) -> list[Route]:
    """``routes`` with route ``name`` at ``weight`` percent, the difference taken from (or given to)
    the primary route, or, without one, the only other live route.

    >>> routes = build_routes("fraud@production", "fraud:7=10%")
    >>> [(r.name, r.weight) for r in reweight(routes, "canary", "25%")]
    [('primary', 75.0), ('canary', 25.0)]
    """
    target = next((r for r in routes if r.name == name), None)
    if target is None:
        known = ", ".join(r.name for r in routes)
        raise InvalidInputError(f"the deployment has no route {name!r}; its routes: {known}")
    if target.shadow:
        raise InvalidInputError(f"route {name!r} is a shadow: a shadow takes no weight")
    value = parse_percent(weight, f"route {name!r}") if isinstance(weight, str) else weight
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise InvalidInputError(f"route {name!r}: the weight must be a percentage in 0..100, got {weight!r}")
    others = [r for r in routes if not r.shadow and r.name != name]
    absorber = next((r for r in others if r.mode == "primary"), None)
    if absorber is None and len(others) == 1:
        absorber = others[0]
    if absorber is None:
        raise InvalidInputError(
            f"no route takes the rest when {name!r} changes (there is no primary and more than one "
            "other live route): deploy again with every weight"
        )
    rest = 100.0 - float(value) - sum(r.weight for r in others if r.name != absorber.name)
    if rest < -TOLERANCE:
        raise InvalidInputError(
            f"{name!r} at {float(value):g}% leaves {rest:g}% for {absorber.name!r}: the live routes "
            "would sum to more than 100%"
        )
    weights = {name: float(value), absorber.name: round(max(rest, 0.0), 6)}
    return [Route(r.name, r.model, weights.get(r.name, r.weight), r.mode) for r in routes]
