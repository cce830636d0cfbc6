"""Webhook deliveries against a real HTTP receiver on 127.0.0.1 that fails when told to."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.registry.models import Delivery, Webhook
from shipyard.registry.webhooks import (
    WebhookDispatcher,
    _retry_after,
    sign,
    subscribed,
    verify_signature,
)
from tests.conftest import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers ``fail_with`` to the first ``fail_first`` requests (all of them if None), then 200."""

    url: str
    fail_first: int | None = 0
    fail_with: int = 503
    requests: list[Received] = field(default_factory=list)
    got_one: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, received: Received) -> int:
        with self.lock:
            self.requests.append(received)
            self.got_one.set()
            failing = self.fail_first is None or len(self.requests) <= self.fail_first
        return self.fail_with if failing else 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = state[0].answer(Received(self.path, dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Recorder:
    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.lock = threading.Lock()

    def __call__(self, delivery: Delivery) -> None:
        with self.lock:
            self.deliveries.append(delivery)


def hook(
    url: str, events: list[str], secret: str | None = "s3cret", active: bool = True, id: str = "w1"
) -> Webhook:
    return Webhook(id=id, url=url, events=events, secret=secret, created_at=0, active=active)


def dispatcher(hooks: list[Webhook], recorder: Recorder, **kwargs: Any) -> WebhookDispatcher:
    options: dict[str, Any] = {"retries": 5, "backoff_s": 0.01, "timeout_s": 5.0, **kwargs}
    return WebhookDispatcher(lambda: hooks, recorder, **options)


def test_a_delivery_is_retried_until_it_succeeds_and_every_attempt_is_signed(receiver: Receiver) -> None:
    receiver.fail_first = 2
    recorder = Recorder()
    sender = dispatcher([hook(receiver.url + "/hook", ["alias.changed"])], recorder)
    sender.notify("alias.changed", {"name": "churn", "alias": "production", "to_version": 3})
    assert sender.flush(timeout=30)
    sender.close()

    [delivery] = recorder.deliveries
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 3, 200)
    assert delivery.last_error is None and delivery.delivered_at is not None
    assert delivery.webhook_id == "w1" and delivery.payload["to_version"] == 3
    assert len(receiver.requests) == 3
    for request in receiver.requests:
        assert request.path == "/hook"
        assert verify_signature("s3cret", request.body, request.headers["X-Shipyard-Signature"])
        assert not verify_signature("wrong", request.body, request.headers["X-Shipyard-Signature"])
        envelope = json.loads(request.body)
        assert envelope["event"] == "alias.changed" == request.headers["X-Shipyard-Event"]
        assert envelope["delivery_id"] == delivery.id == request.headers["X-Shipyard-Delivery"]
        assert envelope["payload"] == {"name": "churn", "alias": "production", "to_version": 3}
        assert isinstance(envelope["sent_at"], int)
        assert request.headers["Content-Type"] == "application/json"


def test_a_failure_is_recorded_after_the_last_attempt(receiver: Receiver) -> None:
    receiver.fail_first, receiver.fail_with = None, 500
    recorder = Recorder()
    sender = dispatcher([hook(receiver.url, ["*"])], recorder, retries=2)
    sender.notify("gate.failed", {"name": "churn"})
    assert sender.flush(timeout=30)
    sender.close()
    [delivery] = recorder.deliveries
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 3, 500)
    assert delivery.last_error is not None and delivery.last_error.startswith("HTTP 500")
    assert delivery.delivered_at is None
    assert len(receiver.requests) == 3


@pytest.mark.parametrize(("status", "attempts"), [(404, 1), (400, 1), (429, 3), (502, 3)])
def test_only_429_and_5xx_are_retried(receiver: Receiver, status: int, attempts: int) -> None:
    receiver.fail_first, receiver.fail_with = None, status
    recorder = Recorder()
    sender = dispatcher([hook(receiver.url, ["*"])], recorder, retries=2)
    sender.notify("gate.failed", {})
    assert sender.flush(timeout=30)
    sender.close()
    [delivery] = recorder.deliveries
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", attempts, status)


def test_connection_errors_are_retried_then_recorded() -> None:
    recorder = Recorder()
    sender = dispatcher([hook(f"http://127.0.0.1:{free_port()}/", ["*"])], recorder, retries=2)
    sender.notify("alias.changed", {})
    assert sender.flush(timeout=60)
    sender.close()
    [delivery] = recorder.deliveries
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 3, None)
    assert delivery.last_error is not None and "ConnectError" in delivery.last_error


def test_events_go_only_to_active_subscribed_webhooks(receiver: Receiver) -> None:
    hooks = [
        hook(receiver.url + "/exact", ["alias.changed"], id="exact"),
        hook(receiver.url + "/all", ["*"], id="all", secret=None),
        hook(receiver.url + "/pattern", ["alias.*"], id="pattern"),
        hook(receiver.url + "/other", ["model_version.created"], id="other"),
        hook(receiver.url + "/inactive", ["*"], id="inactive", active=False),
    ]
    recorder = Recorder()
    sender = dispatcher(hooks, recorder)
    sender.notify("alias.changed", {"n": 1})
    sender.notify("model_version.created", {"n": 2})
    assert sender.flush(timeout=30)
    sender.close()
    got = sorted((d.webhook_id, d.event) for d in recorder.deliveries)
    assert got == [
        ("all", "alias.changed"),
        ("all", "model_version.created"),
        ("exact", "alias.changed"),
        ("other", "model_version.created"),
        ("pattern", "alias.changed"),
    ]
    assert all(d.status == "delivered" for d in recorder.deliveries)
    unsigned = [r for r in receiver.requests if r.path == "/all"]
    assert unsigned and all("X-Shipyard-Signature" not in r.headers for r in unsigned)


def test_subscription_patterns() -> None:
    assert subscribed(hook("u", ["alias.*"]), "alias.changed")
    assert not subscribed(hook("u", ["alias.*"]), "gate.failed")
    assert not subscribed(hook("u", ["*"], active=False), "gate.failed")
    assert not subscribed(hook("u", []), "gate.failed")


def test_notify_never_raises_and_failures_of_the_callables_are_logged(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_list() -> list[Webhook]:
        raise RuntimeError("database is gone")

    def broken_record(delivery: Delivery) -> None:
        raise RuntimeError("cannot write")

    with caplog.at_level(logging.WARNING, logger="shipyard.registry.webhooks"):
        sender = WebhookDispatcher(broken_list, Recorder(), backoff_s=0.01)
        sender.notify("alias.changed", {"at": object()})
        assert sender.flush(timeout=30)
        sender.close()
        sender.notify("alias.changed", {})  # after close: dropped, not raised
        other = WebhookDispatcher(lambda: [hook(receiver.url, ["*"])], broken_record, backoff_s=0.01)
        other.notify("alias.changed", {})
        assert other.flush(timeout=30)
        other.close()
    messages = caplog.text
    assert "webhooks could not be listed" in messages
    assert "after close() was dropped" in messages
    assert "could not be recorded" in messages
    assert len(receiver.requests) == 1


def test_a_full_queue_drops_events_instead_of_blocking(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_list() -> list[Webhook]:
        entered.set()
        release.wait(30)
        return [hook(receiver.url, ["*"])]

    recorder = Recorder()
    sender = WebhookDispatcher(slow_list, recorder, queue_size=1, backoff_s=0.01)
    with caplog.at_level(logging.WARNING, logger="shipyard.registry.webhooks"):
        sender.notify("e", {"n": 1})
        assert entered.wait(30)  # the worker holds event 1
        sender.notify("e", {"n": 2})  # fills the queue
        sender.notify("e", {"n": 3})  # dropped
        release.set()
        assert sender.flush(timeout=30)
        sender.close()
    assert sorted(d.payload["n"] for d in recorder.deliveries) == [1, 2]
    assert "queue is full" in caplog.text


def test_close_records_deliveries_still_waiting_to_retry_as_failed(receiver: Receiver) -> None:
    receiver.fail_first = None
    recorder = Recorder()
    sender = dispatcher([hook(receiver.url, ["*"])], recorder, backoff_s=3600.0)
    sender.notify("alias.changed", {})
    assert receiver.got_one.wait(30)
    assert not sender.flush(timeout=0)
    sender.close(timeout=0)
    [delivery] = recorder.deliveries
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 1, 503)
    assert delivery.last_error is not None and "closed before the next retry" in delivery.last_error


@given(st.text(min_size=1), st.binary())
def test_signatures_verify_only_the_exact_body_and_secret(secret: str, body: bytes) -> None:
    header = sign(secret, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify_signature(secret, body, header)
    assert not verify_signature(secret, body + b" ", header)
    assert not verify_signature(secret + "x", body, header)
    assert not verify_signature(secret, body, None)
    assert not verify_signature(secret, body, header.removeprefix("sha256="))


def test_retry_after_is_read_in_seconds_and_capped() -> None:
    assert _retry_after("2") == 2.0
    assert _retry_after("86400") == 60.0
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert _retry_after(None) is None
