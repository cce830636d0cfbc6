"""The Open Inference Protocol (KServe V2) over the deployments, so V2 clients work unchanged.

A V2 "model" is a deployment: ``{name}`` is the deployment's name and its versions are
the model versions its routes serve now.

* ``GET /v2``: server metadata; ``GET /v2/health/live``, ``GET /v2/health/ready``;
* ``GET /v2/models/{name}[/versions/{v}]``: inputs and outputs with V2 datatypes, from
  the signature; ``GET /v2/models/{name}[/versions/{v}]/ready``;
* ``POST /v2/models/{name}[/versions/{v}]/infer``: one input tensor per signature column
  (shape ``[n]`` or ``[n, 1]``), or a single ``[n, k]`` tensor holding all ``k`` columns in
  the signature's order. Outputs: ``predict`` (always, unless ``outputs`` asks otherwise)
  and ``predict_proba`` (classifiers, when asked for in ``outputs``). The request's ``id``
  is echoed; ``parameters.routing_key`` makes the route sticky like ``X-Routing-Key``;
  a version in the path picks the route serving that version.

Errors answer ``{"error": "<message>"}``.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from shipyard._version import __version__
from shipyard.server.dataplane.inputs import Columns, RequestRejected, bad_request
from shipyard.server.dataplane.wire import Call, json_response, request_id_of
from shipyard.serving.routing import routing_key

if TYPE_CHECKING:
    from shipyard.server.dataplane.app import DataPlane
    from shipyard.server.dataplane.live import LiveDeployment, LiveRoute

V2_DTYPES = {"float": "FP64", "int": "INT64", "bool": "BOOL", "string": "BYTES", "datetime": "BYTES"}
KNOWN_DATATYPES = {
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
    "FP16", "FP32", "FP64", "BYTES",
}  # fmt: skip
OUTPUTS = ("predict", "predict_proba")


def _plane(request: Request) -> DataPlane:
    plane: DataPlane = request.app.state.dataplane
    return plane


def _error(exc: RequestRejected, request_id: str) -> Response:
    return json_response({"error": exc.message}, request_id, exc.status)


async def server_metadata(request: Request) -> Response:
    return json_response(
        {"name": "shipyard", "version": __version__, "extensions": []}, request_id_of(request)
    )


async def live(request: Request) -> Response:
    return json_response({"live": True}, request_id_of(request))


async def ready(request: Request) -> Response:
    is_ready = _plane(request).live.ready
    return json_response({"ready": is_ready}, request_id_of(request), 200 if is_ready else 503)


async def model_ready(request: Request) -> Response:
    request_id = request_id_of(request)
    try:
        deployment, _ = _target(_plane(request), request.path_params)
    except RequestRejected as exc:
        if exc.status == 503:
            return json_response({"name": request.path_params["name"], "ready": False}, request_id, 503)
        return _error(exc, request_id)
    return json_response({"name": deployment.name, "ready": True}, request_id)


async def model_metadata(request: Request) -> Response:
    request_id = request_id_of(request)
    try:
        deployment, route = _target(_plane(request), request.path_params)
    except RequestRejected as exc:
        return _error(exc, request_id)
    return json_response(metadata(deployment, route or deployment.main), request_id)


def metadata(deployment: LiveDeployment, route: LiveRoute) -> dict[str, Any]:
    """The V2 model metadata of ``deployment``, described by the model of ``route``."""
    model = route.target.model
    signature = model.signature
    inputs = [] if signature is None else [
        {"name": c.name, "datatype": V2_DTYPES[c.dtype], "shape": [-1]} for c in signature.inputs
    ]  # fmt: skip
    described = {} if signature is None else signature.outputs
    shape = [int(n) for n in described.get("shape") or [-1]]
    outputs = [
        {"name": "predict", "datatype": V2_DTYPES.get(str(described.get("dtype")), "BYTES"), "shape": shape}
    ]
    if model.task == "classifier":
        outputs.append(
            {"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(model.classes or []) or -1]}
        )
    versions = sorted({str(r.target.version) for r in deployment.routes}, key=int)
    body: dict[str, Any] = {
        "name": deployment.name,
        "versions": versions,
        "platform": f"shipyard-{model.flavor}",
        "inputs": inputs,
        "outputs": outputs,
        "parameters": {"model_version": route.target.model_version, "features": deployment.features},
    }
    return body


def _target(plane: DataPlane, path_params: dict[str, str]) -> tuple[LiveDeployment, LiveRoute | None]:
    """The deployment in the path, and the route serving the version in the path (if any)."""
    deployment = plane.deployment(path_params["name"])
    version = path_params.get("version")
    if version is None:
        return deployment, None
    for route in deployment.routes:
        if str(route.target.version) == version or route.target.model_version == version:
            return deployment, route
    served = ", ".join(sorted({str(r.target.version) for r in deployment.routes}))
    raise RequestRejected(
        404, f"deployment {deployment.name!r} serves no version {version!r} (serving: {served})"
    )


async def infer(plane: DataPlane, call: Call) -> None:
    """``POST /v2/models/{name}[/versions/{v}]/infer`` (plain ASGI: see :class:`~.wire.Call`)."""
    started = time.perf_counter()
    name = call.path_params["name"]
    deployment = route = columns = None
    try:
        deployment, pinned = _target(plane, call.path_params)
        body = await call.json(plane.max_body_bytes)
        if not isinstance(body, dict):
            raise bad_request("an inference request is a JSON object with 'inputs'")
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        key = routing_key(call.headers, parameters, "routing_key")
        route = pinned or deployment.route_for(key)
        wanted = _wanted_outputs(body)
        columns = tensors_to_columns(body.get("inputs"), route.target.plan.names)
        answer = await plane.inference.predict(deployment, columns, key, "predict_proba" in wanted, route)
    except RequestRejected as exc:
        plane.metrics.error(name, exc.status)
        if deployment is not None:  # a failure of a served deployment goes to its prediction log
            plane.inference.record_failure(name, route, columns, call.request_id, started, exc)
        await call.answer({"error": exc.message}, exc.status)
        return
    plane.inference.record(name, answer, call.request_id, started)
    outputs = []
    if "predict" in wanted:
        outputs.append(_tensor("predict", answer.outcome.predictions))
    if "predict_proba" in wanted and answer.outcome.probabilities is not None:
        outputs.append(_tensor("predict_proba", answer.outcome.probabilities))
    out = {
        "model_name": name,
        "model_version": str(answer.route.target.version),
        "id": str(body.get("id") or call.request_id),
        "parameters": {
            "request_id": call.request_id,
            "model_version": answer.route.target.model_version,
            "route": answer.route.name,
        },
        "outputs": outputs,
    }
    await call.answer(out)
    if deployment.shadows:
        plane.inference.send_to_shadows(deployment, answer, call.request_id)


def _wanted_outputs(body: dict[str, Any]) -> list[str]:
    requested = body.get("outputs")
    if requested is None:
        return ["predict"]
    if not isinstance(requested, list) or not all(isinstance(o, dict) and "name" in o for o in requested):
        raise bad_request("'outputs' must be a list of {\"name\": ...}")
    names = [str(o["name"]) for o in requested]
    unknown = [n for n in names if n not in OUTPUTS]
    if unknown:
        raise bad_request(f"unknown output(s) {', '.join(unknown)}; this model has {', '.join(OUTPUTS)}")
    return names


def tensors_to_columns(inputs: Any, order: list[str] | None) -> Columns:
    """The columns of V2 input tensors (see the module docstring)."""
    if not isinstance(inputs, list) or not inputs:
        raise bad_request("'inputs' must be a non-empty list of tensors {name, shape, datatype, data}")
    tensors = [_tensor_values(t) for t in inputs]
    if len(tensors) == 1 and order is not None and tensors[0][0] not in order:
        name, shape, data = tensors[0]
        if len(shape) == 2 and shape[1] == len(order):
            width = shape[1]
            rows = [data[i * width : (i + 1) * width] for i in range(shape[0])]
            return Columns({col: [r[j] for r in rows] for j, col in enumerate(order)}, shape[0])
    data_by_name: dict[str, list[Any]] = {}
    for name, shape, data in tensors:
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise bad_request(
                f"input {name!r} has shape {shape}; a column tensor is [n] or [n, 1] "
                "(or send one [n, k] tensor with every column in the signature's order)"
            )
        data_by_name[name] = data
    return Columns.from_columns(data_by_name)


def _tensor_values(tensor: Any) -> tuple[str, list[int], list[Any]]:
    if not isinstance(tensor, dict):
        raise bad_request("each input tensor is an object {name, shape, datatype, data}")
    name, shape, datatype, data = (tensor.get(k) for k in ("name", "shape", "datatype", "data"))
    if not isinstance(name, str) or not name:
        raise bad_request("an input tensor has no 'name'")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape) or not shape:
        raise bad_request(f"input {name!r}: 'shape' must be a list of non-negative integers")
    if datatype not in KNOWN_DATATYPES:
        raise bad_request(
            f"input {name!r}: unknown datatype {datatype!r}; "
            f"V2 datatypes: {', '.join(sorted(KNOWN_DATATYPES))}"
        )
    if not isinstance(data, list):
        raise bad_request(f"input {name!r}: 'data' must be a list")
    flat = _flatten(data)
    if len(flat) != math.prod(shape):
        raise bad_request(
            f"input {name!r}: shape {shape} needs {math.prod(shape)} values, 'data' has {len(flat)}"
        )
    if datatype.startswith("FP"):
        flat = [float(v) if type(v) is int else v for v in flat]
    return name, shape, flat


def _flatten(data: list[Any]) -> list[Any]:
    if not any(isinstance(v, list) for v in data):
        return data
    flat: list[Any] = []
    for value in data:
        flat.extend(_flatten(value) if isinstance(value, list) else [value])
    return flat


def _tensor(name: str, values: list[Any]) -> dict[str, Any]:
    """An output tensor: shape from the nesting, datatype from the values."""
    rows = len(values)
    if rows and isinstance(values[0], list):
        width = len(values[0])
        flat = [v for row in values for v in row]
        return {"name": name, "datatype": _datatype(flat), "shape": [rows, width], "data": flat}
    return {"name": name, "datatype": _datatype(values), "shape": [rows], "data": values}


def _datatype(values: list[Any]) -> str:
    kinds = {type(v) for v in values}
    if kinds <= {bool}:
        return "BOOL"
    if kinds <= {int}:
        return "INT64"
    if kinds <= {int, float}:
        return "FP64"
    return "BYTES"
