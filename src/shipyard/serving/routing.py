"""Which route answers a request: weighted, and sticky when the request carries a routing key.

A routing key (the ``X-Routing-Key`` header, or a field the deployment names) is hashed
with BLAKE2b to a point in ``[0, 100)``; the routes' weights, laid end to end in the
spec's order, cut that interval into one slice per route and the point's slice wins.
The same key therefore always lands on the same route while the weights stay the
same, and moving 10 points of weight from one route to another moves only the keys
in those 10 points. A request without a key gets a uniformly random point.

Shadow routes take no part: they receive a copy of every request instead.

>>> table = RouteTable.build([("primary", 90.0), ("canary", 10.0)])
>>> table.pick_index("customer-42") == table.pick_index("customer-42")
True
>>> [table.names[table.pick_index_at(p)] for p in (0.0, 89.99, 90.0, 99.99)]
['primary', 'primary', 'canary', 'canary']
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shipyard.core.errors import InvalidInputError

ROUTING_HEADER = "x-routing-key"
_SCALE = 100.0 / float(1 << 64)
_MAX_KEY_CHARS = 1024


def bucket(key: str) -> float:
    """The point of ``key`` in ``[0, 100)``: the first 8 bytes of its BLAKE2b digest, scaled.

    >>> 0.0 <= bucket("anything") < 100.0
    True
    >>> bucket("a") == bucket("a") != bucket("b")
    True
    """
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") * _SCALE


@dataclass(frozen=True)
class RouteTable:
    """Route names with their cumulative weights; picks a route index for a point or a key."""

    names: tuple[str, ...]
    weights: tuple[float, ...]
    bounds: tuple[float, ...]  # the upper end of each route's slice of [0, 100)

    @classmethod
    def build(cls, routes: Sequence[tuple[str, float]]) -> RouteTable:
        """A table over ``(name, weight)`` pairs; weights are percentages scaled to sum to 100.

        Routes of weight 0 are kept (they never win). When every weight is 0 the first
        route takes everything, so a deployment always answers.
        """
        if not routes:
            raise InvalidInputError("a deployment needs at least one route that is not a shadow")
        names = tuple(name for name, _ in routes)
        weights = tuple(float(weight) for _, weight in routes)
        if any(w < 0 or w != w for w in weights):
            raise InvalidInputError(
                f"route weights must be >= 0, got {dict(zip(names, weights, strict=True))}"
            )
        total = sum(weights)
        if total <= 0:
            weights = (100.0,) + (0.0,) * (len(names) - 1)
            total = 100.0
        bounds, running = [], 0.0
        for weight in weights:
            running += weight * 100.0 / total
            bounds.append(running)
        bounds[-1] = 100.0  # no gap at the top from rounding
        return cls(names, weights, tuple(bounds))

    def pick_index_at(self, point: float) -> int:
        """The index of the route whose slice holds ``point`` (in ``[0, 100)``)."""
        index = bisect.bisect_right(self.bounds, point)
        if index >= len(self.bounds):
            return len(self.bounds) - 1
        # A zero-weight route has an empty slice: bisect_right already skips it.
        return index

    def pick_index(self, key: str | None) -> int:
        """The index of the route for ``key`` (sticky), or for a random point when there is none."""
        if len(self.bounds) == 1:
            return 0
        point = random.random() * 100.0 if key is None else bucket(key)
        return self.pick_index_at(point)


def routing_key(headers: Mapping[str, str], body: Any, field: str | None) -> str | None:
    """The routing key of a request: the ``X-Routing-Key`` header, else ``field`` of the body.

    ``field`` is looked up at the top level of a JSON object body, then in its first
    instance (``{"instances": [{field: ...}]}``) and in its columns
    (``{"inputs": {field: [...]}}``); None when absent.

    >>> routing_key({}, {"instances": [{"user": 7, "x": 1.0}]}, "user")
    '7'
    >>> routing_key({"x-routing-key": "abc"}, {}, "user")
    'abc'
    """
    header = headers.get(ROUTING_HEADER)
    if header:
        return header[:_MAX_KEY_CHARS]
    if field is None or not isinstance(body, dict):
        return None
    value = body.get(field)
    if value is None:
        value = _field_of_first_row(body, field)
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)[:_MAX_KEY_CHARS]


def _field_of_first_row(body: dict[str, Any], field: str) -> Any:
    instances = body.get("instances")
    if isinstance(instances, list) and instances and isinstance(instances[0], dict):
        return instances[0].get(field)
    inputs = body.get("inputs")
    if isinstance(inputs, dict):
        column = inputs.get(field)
        if isinstance(column, list) and column:
            return column[0]
    return None
