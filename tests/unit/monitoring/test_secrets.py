"""Secrets in monitor specs: a webhook URL and a signing secret are kept as given but shown
redacted everywhere (repr, ``to_dict``, the CLI, an action's outcome), and
``env:NAME`` is read from the environment when the alert fires."""

from __future__ import annotations

import string

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import shipyard as sy
from shipyard.cli.main import app
from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.actions import checked_action
from shipyard.monitoring.redaction import redact_params, redact_url, redact_urls_in
from shipyard.workspace import Workspace

from .monitor_support import HOUR, T0, Receiver, deploy, drifting, register

SECRET_PARTS = ("T0SECRET", "B0SECRET", "XYZTOKEN", "QSECRET", "HMACKEY")

secret_text = st.text(string.ascii_uppercase + "_-", min_size=6, max_size=20)
hosts = st.from_regex(r"[a-z]{1,10}(\.[a-z]{2,6}){0,2}", fullmatch=True)


@given(
    scheme=st.sampled_from(["http", "https"]),
    host=hosts,
    port=st.none() | st.integers(1, 65535),
    user=st.none() | secret_text,
    path=st.lists(secret_text, min_size=1, max_size=4),
    query=st.none() | secret_text,
)
def test_a_redacted_url_keeps_scheme_and_host_only(
    scheme: str, host: str, port: int | None, user: str | None, path: list[str], query: str | None
) -> None:
    netloc = (f"{user}:{user}@" if user else "") + host + (f":{port}" if port else "")
    url = f"{scheme}://{netloc}/{'/'.join(path)}" + (f"?token={query}" if query else "")
    shown = redact_url(url)
    expected = f"{scheme}://" + ("***@" if user else "") + host + (f":{port}" if port else "") + "/***"
    assert shown == expected
    for secret in [*path, user, query]:
        if secret:
            assert secret not in shown


@given(st.text(max_size=80))
def test_redacting_never_fails_and_never_shows_a_path(text: str) -> None:
    shown = redact_url(text)
    assert isinstance(shown, str)
    if not text.startswith("env:"):
        assert shown == "***" or "://" in shown
        tail = shown.split("://", 1)[-1]
        assert "/" not in tail.rstrip("/").replace("/***", "")


def test_notify_params_are_shown_redacted_and_env_refs_as_named() -> None:
    action = sy.actions.notify(
        webhook="https://hooks.slack.com/services/T0SECRET/B0SECRET/XYZTOKEN", secret="HMACKEY"
    )
    assert action.params["webhook"].endswith("XYZTOKEN")  # kept as given
    shown = redact_params("notify", action.params)
    assert (shown["webhook"], shown["secret"]) == ("https://hooks.slack.com/***", "***")
    assert not any(part in repr(action) for part in SECRET_PARTS)
    from_env = sy.actions.notify(webhook="env:SLACK_HOOK", secret="env:SLACK_SIGNING")
    assert redact_params("notify", from_env.params) == from_env.params


def test_notify_refuses_bad_webhooks_without_echoing_them() -> None:
    with pytest.raises(InvalidInputError, match="env:NAME") as bad:
        sy.actions.notify(webhook="ftp://files.example.com/XYZTOKEN")
    assert "XYZTOKEN" not in str(bad.value)
    with pytest.raises(InvalidInputError, match="names no environment variable"):
        sy.actions.notify(webhook="env:1BAD-NAME")
    with pytest.raises(InvalidInputError, match="redacted"):
        sy.actions.notify(webhook="https://hooks.slack.com/***")  # a spec copied from `monitors show`
    with pytest.raises(InvalidInputError, match="redacted"):
        sy.actions.notify(webhook="https://hooks.slack.com/x", secret="***")
    with pytest.raises(InvalidInputError, match=r"not what sy\.actions\.notify makes"):
        checked_action({"kind": "notify", "params": {**sy.actions.notify("env:X").params, "retries": -2}})


@pytest.fixture
def deployed(workspace: Workspace) -> Workspace:
    register(workspace, seed=1)
    workspace.registry.promote("fraud", 1, "production")
    deploy(workspace)
    return workspace


def test_a_webhook_is_kept_but_never_shown(deployed: Workspace, receiver: str) -> None:
    secret_url = f"{receiver}/T0SECRET/B0SECRET/XYZTOKEN?token=QSECRET"
    drifting(deployed, [sy.actions.notify(webhook=secret_url, secret="HMACKEY", retries=0)])
    monitor = deployed.monitors.get("m")
    assert monitor.actions[0].params["webhook"] == secret_url  # the stored spec keeps what was given
    assert monitor.actions[0].params["secret"] == "HMACKEY"
    result = deployed.monitors.run("m", now=T0 + HOUR)
    [outcome] = result.actions
    assert outcome["status"] == "ok"
    assert Receiver.paths == ["/hook/T0SECRET/B0SECRET/XYZTOKEN?token=QSECRET"]  # delivered to the real URL
    assert outcome["detail"].startswith(f"delivered to {receiver.rsplit('/', 1)[0]}/***")
    shown = [
        repr(monitor),
        orjson.dumps(monitor.to_dict()).decode(),
        orjson.dumps([r.to_dict() for r in deployed.monitors.results("m")]).decode(),
    ]
    runner = CliRunner()
    for args in (
        ["monitors", "show", "m"],
        ["monitors", "show", "m", "--json"],
        ["monitors", "list", "--json"],
        ["monitors", "list"],
        ["monitors", "run", "m", "--json"],
        ["alerts", "list", "--json"],
    ):
        done = runner.invoke(app, args)
        assert done.exit_code == 0, done.output
        shown.append(done.output)
    assert "action notify: webhook=http://127.0.0.1:" in shown[3]
    for text in shown:
        assert not any(part in text for part in SECRET_PARTS), text


def test_an_env_webhook_is_read_when_the_alert_fires(
    deployed: Workspace, receiver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_TEST_HOOK", f"{receiver}/XYZTOKEN")
    drifting(deployed, [sy.actions.notify(webhook="env:SHIPYARD_TEST_HOOK", retries=0)])
    assert deployed.monitors.get("m").actions[0].params["webhook"] == "env:SHIPYARD_TEST_HOOK"
    monkeypatch.setenv("SHIPYARD_TEST_HOOK", f"{receiver}/XYZTOKEN?v=2")  # changed after creation
    result = deployed.monitors.run("m", now=T0 + HOUR)
    assert [a["status"] for a in result.actions] == ["ok"]
    assert Receiver.paths == ["/hook/XYZTOKEN?v=2"]
    assert "XYZTOKEN" not in result.actions[0]["detail"]


@pytest.mark.parametrize("value", [None, "", "not a url XYZTOKEN"])
def test_a_missing_env_webhook_is_a_failed_notification(
    deployed: Workspace, receiver: str, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("SHIPYARD_TEST_HOOK", raising=False)
    else:
        monkeypatch.setenv("SHIPYARD_TEST_HOOK", value)
    drifting(
        deployed,
        [
            sy.actions.notify(webhook="env:SHIPYARD_TEST_HOOK", retries=0),
            sy.actions.notify(webhook=receiver, retries=0),  # the other action still runs
        ],
    )
    result = deployed.monitors.run("m", now=T0 + HOUR)
    failed, delivered = result.actions
    assert failed["status"] == "failed" and "SHIPYARD_TEST_HOOK" in failed["detail"]
    assert "XYZTOKEN" not in failed["detail"]
    assert delivered["status"] == "ok" and len(Receiver.bodies) == 1
    assert deployed.monitors.alerts(state="firing")  # the alert stands; the monitor did not crash
    assert deployed.monitors.results("m")[0].actions == result.actions


@given(st.lists(secret_text, min_size=1, max_size=3), st.sampled_from(["", ".", ":", ")"]))
def test_urls_inside_text_are_redacted_once_and_for_all(path: list[str], tail: str) -> None:
    text = f"delivered to https://hooks.slack.com/{'/'.join(path)}{tail} (attempt 1)"
    shown = redact_urls_in(text)
    assert shown == f"delivered to https://hooks.slack.com/***{tail} (attempt 1)"
    assert redact_urls_in(shown) == shown


def test_a_result_stored_before_redaction_reads_back_redacted(workspace: Workspace) -> None:
    """Outcomes written by an older version named the webhook in full: they are shown redacted."""
    from shipyard.db import tables as t
    from shipyard.db.engine import get_engine

    detail = "https://hooks.slack.com/services/T0SECRET/XYZTOKEN: HTTP 404"
    row = {
        "id": "0" * 32,
        "monitor": "m",
        "monitor_version": 1,
        "created_at": T0,
        "window_start": None,
        "window_end": T0,
        "n_predictions": 10,
        "status": "warning",
        "checks": [],
        "alerts": [],
        "notes": [],
        "canary": None,
        "actions": [{"action": "notify", "status": "failed", "detail": detail}],
    }
    store = workspace.monitors.store
    store.list_results("m")  # the schema is there
    with get_engine(workspace.settings.uri).begin() as conn:
        values = {
            k: row[k] for k in ("id", "monitor", "monitor_version", "created_at", "status", "n_predictions")
        }
        conn.execute(t.monitor_results.insert().values(**values, result=orjson.dumps(row).decode()))
    [back] = store.list_results("m")
    assert back.actions[0]["detail"] == "https://hooks.slack.com/***: HTTP 404"
    assert not any(part in back.to_json().decode() for part in SECRET_PARTS)
