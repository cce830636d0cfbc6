"""Secrets in monitor specs: shown redacted, resolved from the environment only when used.

A notify action's ``webhook`` (a Slack-style incoming-webhook URL carries its secret in
the path) and its signing ``secret`` are kept in the stored spec as the user gave them,
but every display of a spec (``repr``, ``Monitor.to_dict``, the CLI, the REST API, an
action's outcome and the log) shows them redacted: a URL keeps its scheme and host,
its user info, path, query and fragment become ``***``; a signing secret is ``***``.

Either may instead name an environment variable, ``"env:SLACK_WEBHOOK"``: the spec keeps
the name, and the value is read from the environment of the process that runs the
monitor each time the action fires (:func:`resolve`).

>>> redact_url("https://hooks.slack.com/services/T000/B000/XXXX")
'https://hooks.slack.com/***'
>>> redact_url("https://bot:pa55@chat.example.com:8443/hook?token=abc")
'https://***@chat.example.com:8443/***'
>>> redact_url("env:SLACK_WEBHOOK")
'env:SLACK_WEBHOOK'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from shipyard.core.config import environment_value
from shipyard.core.errors import InvalidInputError

__all__ = [
    "ENV_PREFIX",
    "MASK",
    "check_env_ref",
    "redact_params",
    "redact_text",
    "redact_url",
    "redact_urls_in",
    "resolve",
]

ENV_PREFIX = "env:"
MASK = "***"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
_URL = re.compile(r"https?://[^\s'\"<>]+")
_TRAILING = ".,:;)]}"
#: Parameters of an action kind that hold a URL or a secret (shown redacted).
SECRET_URLS: dict[str, tuple[str, ...]] = {"notify": ("webhook",)}
SECRET_VALUES: dict[str, tuple[str, ...]] = {"notify": ("secret",)}


def is_env_ref(value: object) -> bool:
    return isinstance(value, str) and value.startswith(ENV_PREFIX)


def check_env_ref(value: str, what: str) -> str:
    """``value`` (``"env:NAME"``) if NAME is a valid environment variable name, else InvalidInputError."""
    name = value[len(ENV_PREFIX) :]
    if not _ENV_NAME.fullmatch(name):
        raise InvalidInputError(
            f"{what} {value!r} names no environment variable: use env:NAME with NAME made of "
            "letters, digits and '_' (not starting with a digit)"
        )
    return value


def redact_url(url: str) -> str:
    """``url`` with its user info, path, query and fragment replaced by ``***`` (env refs unchanged)."""
    if is_env_ref(url):
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return MASK
    shown = f"[{host}]" if ":" in host else host
    if port is not None:
        shown += f":{port}"
    if "@" in parts.netloc:
        shown = f"{MASK}@{shown}"
    hidden = parts.path not in ("", "/") or parts.query or parts.fragment
    return f"{parts.scheme}://{shown}" + (f"/{MASK}" if hidden else parts.path)


def redact_params(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """An action's parameters as they may be shown (secret URLs and values redacted)."""
    shown = dict(params)
    for key in SECRET_URLS.get(kind, ()):
        if isinstance(shown.get(key), str):
            shown[key] = redact_url(shown[key])
    for key in SECRET_VALUES.get(kind, ()):
        value = shown.get(key)
        if isinstance(value, str) and value and not is_env_ref(value):
            shown[key] = MASK
    return shown


def redact_urls_in(text: str) -> str:
    """``text`` with every http(s) URL in it redacted.

    >>> redact_urls_in("delivered to https://hooks.slack.com/services/T0/B0/X: HTTP 503")
    'delivered to https://hooks.slack.com/***: HTTP 503'
    """

    def redact(match: re.Match[str]) -> str:
        url = match.group(0)
        trailing = len(url) - len(url.rstrip(_TRAILING))
        return redact_url(url[: len(url) - trailing]) + url[len(url) - trailing :]

    return _URL.sub(redact, text)


def redact_text(text: str, *secrets: str | None) -> str:
    """``text`` with every occurrence of the given URLs replaced by their redacted form."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, redact_url(secret))
    return text


def resolve(value: str, what: str) -> str:
    """``value``, or for ``"env:NAME"`` the value of NAME in this process's environment.

    A variable that is unset or empty raises InvalidInputError naming it (never its value).
    """
    if not is_env_ref(value):
        return value
    name = check_env_ref(value, what)[len(ENV_PREFIX) :]
    found = environment_value(name)
    if not found:
        raise InvalidInputError(
            f"{what} {value}: environment variable {name} is not set in the process that runs the monitor"
        )
    return found
