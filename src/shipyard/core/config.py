"""One settings object; every setting declared once.

Precedence, highest first: an explicit argument to :func:`load_settings`, the
``SHIPYARD_*`` environment variable, ``<home>/config.toml``, the default.
Nothing else in Shipyard reads ``os.environ``.

>>> s = load_settings(home="/tmp/example-home", uri="sqlite:///:memory:")
>>> s.uri
'sqlite:///:memory:'
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.core.errors import InvalidInputError

HOME_DIRNAME = ".shipyard"


@dataclass(frozen=True)
class Setting:
    """Declaration of one setting."""

    name: str
    env: str
    parse: Callable[[str], Any]
    default: Any
    doc: str


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def _optional_str(raw: str) -> str | None:
    return raw or None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "home",
        "SHIPYARD_HOME",
        str,
        None,
        "Project folder for the embedded store; default: nearest .shipyard/ walking up, else ./.shipyard",
    ),
    Setting(
        "uri",
        "SHIPYARD_URI",
        str,
        None,
        "Metadata backend: sqlite:///path, postgresql+psycopg://..., or http(s)://server",
    ),
    Setting(
        "artifacts_uri",
        "SHIPYARD_ARTIFACTS_URI",
        str,
        None,
        "Blob store: a local folder (default <home>/artifacts) or s3://bucket/prefix",
    ),
    Setting(
        "s3_endpoint_url",
        "SHIPYARD_S3_ENDPOINT_URL",
        _optional_str,
        None,
        "Endpoint URL of an S3-compatible object store (MinIO, moto, ...)",
    ),
    Setting("token", "SHIPYARD_TOKEN", _optional_str, None, "Bearer token sent to a Shipyard server"),
    Setting(
        "metric_flush_interval_ms",
        "SHIPYARD_METRIC_FLUSH_INTERVAL_MS",
        int,
        100,
        "Longest time a logged metric waits in memory before it is written",
    ),
    Setting(
        "metric_batch_size",
        "SHIPYARD_METRIC_BATCH_SIZE",
        int,
        5000,
        "Buffered metrics that trigger an immediate write",
    ),
    Setting(
        "heartbeat_interval_s",
        "SHIPYARD_HEARTBEAT_INTERVAL_S",
        float,
        30.0,
        "How often a running run records that its process is alive",
    ),
    Setting(
        "stale_after_s",
        "SHIPYARD_STALE_AFTER_S",
        float,
        300.0,
        "A running run without a heartbeat for this long counts as stale",
    ),
    Setting(
        "capture_packages",
        "SHIPYARD_CAPTURE_PACKAGES",
        _bool,
        True,
        "Record the installed packages of the environment with every run",
    ),
    Setting(
        "http_timeout_s",
        "SHIPYARD_HTTP_TIMEOUT_S",
        float,
        30.0,
        "Timeout of one request to a Shipyard server",
    ),
    Setting(
        "online_uri",
        "SHIPYARD_ONLINE_URI",
        str,
        "",
        "Online feature store: sqlite:///path, redis://host:port/db or memory://; empty: <home>/online.db",
    ),
    Setting(
        "serve_max_body_bytes",
        "SHIPYARD_SERVE_MAX_BODY_BYTES",
        int,
        1 << 20,
        "Largest request body `shipyard serve` accepts (larger: 413)",
    ),
    Setting(
        "serve_poll_interval_s",
        "SHIPYARD_SERVE_POLL_INTERVAL_S",
        float,
        1.0,
        "How often `shipyard serve` checks deployment specs and aliases for changes (at most 2 s)",
    ),
    Setting(
        "serve_shadow_queue_size",
        "SHIPYARD_SERVE_SHADOW_QUEUE_SIZE",
        int,
        10_000,
        "Requests waiting for their shadow routes; beyond it shadow copies are dropped and counted",
    ),
)


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Build with :func:`load_settings`."""

    home: Path
    uri: str
    artifacts_uri: str
    s3_endpoint_url: str | None = None
    token: str | None = None
    metric_flush_interval_ms: int = 100
    metric_batch_size: int = 5000
    heartbeat_interval_s: float = 30.0
    stale_after_s: float = 300.0
    capture_packages: bool = True
    http_timeout_s: float = 30.0
    online_uri: str = ""
    serve_max_body_bytes: int = 1 << 20
    serve_poll_interval_s: float = 1.0
    serve_shadow_queue_size: int = 10_000

    @property
    def is_remote(self) -> bool:
        return self.uri.startswith(("http://", "https://"))

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def find_home(start: Path | None = None) -> Path:
    """The nearest ``.shipyard/`` walking up from ``start``, else ``start/.shipyard``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / HOME_DIRNAME
        if candidate.is_dir():
            return candidate
    return here / HOME_DIRNAME


def _read_toml(home: Path) -> dict[str, Any]:
    path = home / "config.toml"
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid TOML: {exc}") from exc
    known = {s.name for s in SETTINGS}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidInputError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return data


def _from_env(setting: Setting, environ: Mapping[str, str]) -> Any:
    raw = environ.get(setting.env)
    if raw is None or raw == "":
        return None
    try:
        return setting.parse(raw)
    except ValueError as exc:
        raise InvalidInputError(f"{setting.env}={raw!r} is invalid: {exc}") from exc


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Resolve every setting by precedence: argument > environment > config.toml > default."""
    env = os.environ if environ is None else environ
    unknown = set(overrides) - {s.name for s in SETTINGS}
    if unknown:
        raise InvalidInputError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    home_raw = overrides.get("home") or _from_env(SETTINGS[0], env)
    home = Path(home_raw).expanduser().resolve() if home_raw else find_home()
    file_values = _read_toml(home)
    values: dict[str, Any] = {}
    for setting in SETTINGS[1:]:
        value = overrides.get(setting.name)
        if value is None:
            value = _from_env(setting, env)
        if value is None:
            value = file_values.get(setting.name)
        if value is None:
            value = setting.default
        values[setting.name] = value
    if values["uri"] is None:
        values["uri"] = f"sqlite:///{home / 'shipyard.db'}"
    if values["artifacts_uri"] is None:
        values["artifacts_uri"] = str(home / "artifacts")
    return Settings(home=home, **values)


def environment_value(name: str) -> str | None:
    """The environment variable ``name`` (None when unset): the value behind an ``env:NAME``
    reference in a spec (a monitor's webhook), read each time it is used and never stored."""
    return os.environ.get(name)
