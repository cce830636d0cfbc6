"""What a monitor does about its alerts (``sy.actions``).

==========================================  ======================================================
action                                      when and what
==========================================  ======================================================
``notify(webhook=URL)``                     an alert fired at ``on`` (default warning) or above, or
                                            resolved: POST ``{"text": ...}`` (what a Slack-style
                                            incoming webhook takes; signed like registry webhooks
                                            when ``secret`` is given) and log the text. Failures are
                                            retried ``retries`` times with backoff, then recorded
                                            in the result; never raised. ``webhook="env:NAME"``
                                            is read from the environment when it fires (unset:
                                            a failed outcome). Shown redacted everywhere.
``retrain(pipeline="mod:pipe", params)``    an alert fired at ``on`` (default critical): a run
                                            request to the scheduler (``start_pipeline``), which
                                            claims and runs it in its own process.
``rollback(model="fraud", alias=...)``      an alert fired at ``on`` (default critical): the
                                            registry's rollback of the alias (its history kept).
``canary(promote_after=3, abort_on=...)``   every window: canary analysis
                                            (:mod:`shipyard.monitoring.canary`).
==========================================  ======================================================

Every action's outcome is a dict ``{"action", "status": ok|failed|skipped, "detail"}`` kept
in the monitor result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from shipyard.core.errors import InvalidInputError, ShipyardError
from shipyard.monitoring.monitor_models import ActionSpec, Alert, Monitor
from shipyard.monitoring.redaction import ENV_PREFIX, MASK, check_env_ref, redact_text, redact_url, resolve

if TYPE_CHECKING:
    from shipyard.pipelines.scheduler import SchedulerService
    from shipyard.registry.service import RegistryService

__all__ = ["action_spec", "canary", "checked_action", "notify", "retrain", "rollback"]

log = logging.getLogger("shipyard.monitoring.actions")
_LEVEL = {"warning": 1, "critical": 2}


def _on(value: object) -> str:
    if value not in _LEVEL:
        raise InvalidInputError(f"on must be 'warning' or 'critical', got {value!r}")
    return str(value)


def notify(
    webhook: str,
    on: str = "warning",
    resolved: bool = True,
    secret: str | None = None,
    retries: int = 3,
    backoff_s: float = 0.5,
    timeout_s: float = 5.0,
) -> ActionSpec:
    """POST a Slack-style ``{"text": ...}`` to ``webhook`` when alerts fire (and resolve).

    ``webhook`` (and ``secret``) may be ``"env:NAME"``: read from the environment of the
    process that runs the monitor each time it fires. Both are shown redacted.
    """
    params = {
        "webhook": _webhook(webhook),
        "on": _on(on),
        "resolved": bool(resolved),
        "secret": _secret(secret),
        "retries": max(0, int(retries)),
        "backoff_s": float(backoff_s),
        "timeout_s": float(timeout_s),
    }
    return ActionSpec("notify", params)


def _webhook(webhook: object) -> str:
    if isinstance(webhook, str) and webhook.startswith(ENV_PREFIX):
        return check_env_ref(webhook, "webhook")
    if not isinstance(webhook, str) or not webhook.startswith(("http://", "https://")):
        shown = redact_url(webhook) if isinstance(webhook, str) else type(webhook).__name__
        raise InvalidInputError(f"webhook must be an http(s) URL or env:NAME, got {shown!r}")
    if MASK in webhook:
        raise InvalidInputError(
            f"webhook {webhook!r} is a redacted URL (as monitors are shown): give the real URL or env:NAME"
        )
    return webhook


def _secret(secret: object) -> str | None:
    if secret is None:
        return None
    if not isinstance(secret, str) or not secret:
        raise InvalidInputError("secret must be a non-empty string or env:NAME")
    if secret.startswith(ENV_PREFIX):
        return check_env_ref(secret, "secret")
    if secret == MASK:
        raise InvalidInputError(
            "secret '***' is a redacted secret (as monitors are shown): give the real one"
        )
    return secret


def retrain(pipeline: str, params: Mapping[str, Any] | None = None, on: str = "critical") -> ActionSpec:
    """Ask the scheduler to run ``pipeline`` (``"module:attribute"``) with ``params``."""
    if not isinstance(pipeline, str) or ":" not in pipeline:
        raise InvalidInputError(f"pipeline must be a 'module:attribute' ref, got {pipeline!r}")
    values = dict(params or {})
    try:
        orjson.dumps(values)
    except TypeError as exc:
        raise InvalidInputError(f"retrain params are kept as JSON and these cannot be: {exc}") from exc
    return ActionSpec("retrain", {"pipeline": pipeline, "params": values, "on": _on(on)})


def rollback(model: str, alias: str = "production", on: str = "critical") -> ActionSpec:
    """Roll ``model@alias`` back to its previous version through the registry."""
    if not isinstance(model, str) or not model or not isinstance(alias, str) or not alias:
        raise InvalidInputError("rollback needs a model name and an alias")
    return ActionSpec("rollback", {"model": model, "alias": alias, "on": _on(on)})


def canary(
    promote_after: int = 3,
    abort_on: str = "critical",
    alias: str | None = None,
    route: str = "canary",
    alpha: float = 0.01,
    min_samples: int = 30,
) -> ActionSpec:
    """Canary analysis every window: promote after ``promote_after`` passing windows, set the canary's
    weight to 0 on a finding at ``abort_on`` (see :mod:`shipyard.monitoring.canary`)."""
    if isinstance(promote_after, bool) or not isinstance(promote_after, int) or promote_after < 1:
        raise InvalidInputError(f"promote_after must be a positive int, got {promote_after!r}")
    if not 0 < alpha < 1:
        raise InvalidInputError(f"alpha must be between 0 and 1, got {alpha!r}")
    params = {
        "promote_after": promote_after,
        "abort_on": _on(abort_on),
        "alias": alias,
        "route": route,
        "alpha": float(alpha),
        "min_samples": int(min_samples),
    }
    return ActionSpec("canary", params)


_BUILDERS: dict[str, Callable[..., ActionSpec]] = {
    "notify": notify,
    "retrain": retrain,
    "rollback": rollback,
    "canary": canary,
}


def action_spec(data: Mapping[str, Any]) -> ActionSpec:
    """An action from its YAML form ``{kind: notify, webhook: https://...}``."""
    values = dict(data)
    kind = values.pop("kind", None)
    if kind not in _BUILDERS:
        raise InvalidInputError(f"unknown action {kind!r}; known: {', '.join(_BUILDERS)}")
    try:
        return _BUILDERS[kind](**values)
    except TypeError as exc:
        raise InvalidInputError(f"action {kind}: {exc}") from exc


def checked_action(data: Mapping[str, Any]) -> ActionSpec:
    """An action as stored (``{kind, params}``, how a remote SDK sends it), made again by its
    builder so it is checked as ``sy.actions`` checks it; InvalidInputError naming what does not hold."""
    kind, params = data.get("kind"), data.get("params") or {}
    if not isinstance(kind, str) or kind not in _BUILDERS:
        raise InvalidInputError(f"unknown action {kind!r}; known: {', '.join(_BUILDERS)}")
    if not isinstance(params, Mapping) or "kind" in params:
        raise InvalidInputError(f"action {kind}: params must be a mapping of the builder's arguments")
    try:
        made = action_spec({"kind": kind, **params})
    except InvalidInputError as exc:
        raise InvalidInputError(f"action {kind}: {exc}") from exc
    given = ActionSpec(str(kind), dict(params))
    differing = sorted(k for k in {*made.params, *given.params} if made.params.get(k) != given.params.get(k))
    if differing:
        raise InvalidInputError(
            f"action {kind}: params {', '.join(differing)} are not what sy.actions.{kind} makes of them"
        )
    return made


@dataclass
class ActionContext:
    """The services the actions need, each built on first use."""

    registry: Callable[[], RegistryService]
    scheduler: Callable[[], SchedulerService]
    sleep: Callable[[float], None] = time.sleep


def run_alert_actions(
    monitor: Monitor, fired: list[Alert], resolved: list[Alert], context: ActionContext
) -> list[dict[str, Any]]:
    """Run the alert actions of ``monitor`` for this evaluation's fired and resolved alerts."""
    outcomes: list[dict[str, Any]] = []
    for spec in monitor.actions:
        if spec.kind == "canary":
            continue
        level = _LEVEL[spec.params.get("on", "critical")]
        due = [a for a in fired if _LEVEL[a.severity] >= level]
        if spec.kind == "notify":
            tell = due + (resolved if spec.params.get("resolved", True) else [])
            if tell:
                outcomes.append(_notify(monitor, spec, due, resolved, context))
        elif due:
            outcomes.append(_act(monitor, spec, due, context))
    return outcomes


def _act(monitor: Monitor, spec: ActionSpec, due: list[Alert], context: ActionContext) -> dict[str, Any]:
    reason = f"monitor {monitor.name}: " + "; ".join(a.message for a in due)[:1500]
    try:
        if spec.kind == "retrain":
            request = context.scheduler().request(
                spec.params["pipeline"], spec.params.get("params") or {}, reason, check=False
            )
            return _outcome("retrain", "ok", f"requested {request.ref} (request {request.id})")
        p = spec.params
        change = context.registry().rollback(p["model"], p["alias"], reason=reason)
        return _outcome(
            "rollback", "ok", f"{p['model']}@{p['alias']}: {change.from_version} -> {change.to_version}"
        )
    except ShipyardError as exc:
        log.warning("monitor %s: %s failed: %s", monitor.name, spec.kind, exc)
        return _outcome(spec.kind, "failed", str(exc))


def _notify(
    monitor: Monitor, spec: ActionSpec, fired: list[Alert], resolved: list[Alert], context: ActionContext
) -> dict[str, Any]:
    lines = [f":rotating_light: [{a.severity}] {a.message}" for a in fired]
    lines += [f":white_check_mark: [resolved] {monitor.name}/{a.check}" for a in resolved]
    text = f"Shipyard monitor {monitor.name} ({monitor.deployment})\n" + "\n".join(lines)
    log.warning("%s", text)
    try:
        params = _resolved(spec.params)
    except InvalidInputError as exc:  # an env:NAME that is not set: recorded, never raised
        log.warning("monitor %s: notify failed: %s", monitor.name, exc)
        return _outcome("notify", "failed", str(exc))
    status, detail = post_json(params, {"text": text}, context.sleep)
    return _outcome("notify", status, detail)


def _resolved(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with ``env:NAME`` webhook and secret read from the environment."""
    done = dict(params)
    webhook = resolve(str(params["webhook"]), "webhook")
    if not webhook.startswith(("http://", "https://")):
        raise InvalidInputError(
            f"webhook {params['webhook']}: the environment variable holds no http(s) URL "
            f"({redact_url(webhook)!r})"
        )
    done["webhook"] = webhook
    if params.get("secret"):
        done["secret"] = resolve(str(params["secret"]), "secret")
    return done


def post_json(
    params: Mapping[str, Any], payload: dict[str, Any], sleep: Callable[[float], None]
) -> tuple[str, str]:
    """POST ``payload`` with retries; ``("ok"|"failed", detail)``, never raising.

    The detail and the log name the webhook redacted (its path holds its secret)."""
    import httpx

    url = str(params["webhook"])
    shown = redact_url(url)
    body = orjson.dumps(payload)
    headers = {"Content-Type": "application/json"}
    if params.get("secret"):
        from shipyard.registry.webhooks import SIGNATURE_HEADER, sign

        headers[SIGNATURE_HEADER] = sign(str(params["secret"]), body)
    attempts, wait, error = int(params.get("retries", 3)) + 1, float(params.get("backoff_s", 0.5)), ""
    for attempt in range(1, attempts + 1):
        try:
            with httpx.Client(timeout=float(params.get("timeout_s", 5.0))) as client:
                answer = client.post(url, content=body, headers=headers)
            if answer.status_code < 300:
                return "ok", f"delivered to {shown} (attempt {attempt})"
            error = f"HTTP {answer.status_code}"
            if answer.status_code < 500 and answer.status_code != 429:
                break
        except httpx.HTTPError as exc:
            error = redact_text(f"{type(exc).__name__}: {exc}", url)
        if attempt < attempts:
            sleep(wait)
            wait *= 2
    log.warning("notify %s failed after %d attempt(s): %s", shown, attempt, error)
    return "failed", f"{shown}: {error} after {attempt} attempt(s)"


def _outcome(action: str, status: str, detail: str) -> dict[str, Any]:
    return {"action": action, "status": status, "detail": detail}
