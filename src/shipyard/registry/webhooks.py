"""Webhooks: registry events POSTed as signed JSON from a background thread.

:class:`WebhookDispatcher` is handed two callables by the registry (one lists the
webhooks, one records a :class:`~shipyard.registry.models.Delivery`) and is told about
events with :meth:`~WebhookDispatcher.notify`, which never raises and never blocks: the
event is copied, queued, and sent by one worker thread.

Each delivery is one POST of this JSON body::

    {"event": "alias.changed", "delivery_id": "<32 hex>", "sent_at": <ms>, "payload": {...}}

with the headers ``X-Shipyard-Event``, ``X-Shipyard-Delivery`` and, when the webhook has
a secret, ``X-Shipyard-Signature: sha256=<hex>``: the HMAC-SHA256 of the raw body keyed
with the secret. A receiver checks it with :func:`verify_signature` on the bytes it read,
before parsing them. Connection errors, timeouts, 429 and 5xx answers are retried with
exponential backoff (``backoff_s``, doubled each time; a 429's ``Retry-After`` is
honoured up to a minute), at most ``retries`` times; other answers are final. The
outcome (``delivered`` or ``failed``, attempts, last status code and error) is then
recorded once.

A webhook's ``events`` are event names or shell patterns: ``"*"`` (everything),
``"alias.*"``, ``"model_version.created"``.

>>> body = b'{"event": "alias.changed"}'
>>> verify_signature("s3cret", body, sign("s3cret", body))
True
>>> verify_signature("other", body, sign("s3cret", body))
False
"""

from __future__ import annotations

import fnmatch
import hashlib
import heapq
import hmac
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard._version import __version__
from shipyard.core.clock import now_ms
from shipyard.core.ids import new_id
from shipyard.registry.models import Delivery, Webhook

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("shipyard.registry.webhooks")

SIGNATURE_HEADER = "X-Shipyard-Signature"
EVENT_HEADER = "X-Shipyard-Event"
DELIVERY_HEADER = "X-Shipyard-Delivery"
MAX_RETRY_AFTER_S = 60.0


def sign(secret: str, body: bytes) -> str:
    """The ``X-Shipyard-Signature`` value of ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes | str, header: str | None) -> bool:
    """Whether ``header`` (the ``X-Shipyard-Signature`` received) signs ``body`` with ``secret``.

    Pass the raw request body exactly as received (not re-encoded JSON). The comparison
    takes constant time. A missing or malformed header is simply not valid.
    """
    if not header or not header.startswith("sha256="):
        return False
    raw = body.encode() if isinstance(body, str) else body
    return hmac.compare_digest(sign(secret, raw), header.strip())


def subscribed(webhook: Webhook, event: str) -> bool:
    """Whether an active ``webhook`` wants ``event`` (names or shell patterns such as ``alias.*``)."""
    return webhook.active and any(fnmatch.fnmatchcase(event, pattern) for pattern in webhook.events)


@dataclass
class _Attempting:
    """A delivery on its way: how many tries so far and what the last one gave."""

    webhook: Webhook
    event: str
    payload: dict[str, Any]
    delivery_id: str = field(default_factory=new_id)
    created_at: int = field(default_factory=now_ms)
    attempts: int = 0
    response_code: int | None = None
    last_error: str | None = None

    def delivery(self, status: str, delivered_at: int | None = None) -> Delivery:
        return Delivery(
            id=self.delivery_id,
            webhook_id=self.webhook.id,
            event=self.event,
            payload=self.payload,
            status=status,
            attempts=self.attempts,
            response_code=self.response_code,
            last_error=self.last_error,
            created_at=self.created_at,
            delivered_at=delivered_at,
        )


@dataclass(frozen=True)
class _Event:
    name: str
    payload: dict[str, Any]
    at: int


class WebhookDispatcher:
    """Sends registry events to the webhooks subscribed to them; see the module docstring.

    ``list_webhooks`` and ``record`` are called from the worker thread. ``queue_size``
    bounds the events waiting to be fanned out; past it, new events are dropped with a
    logged warning rather than blocking the caller. The worker starts on the first event.
    """

    def __init__(
        self,
        list_webhooks: Callable[[], list[Webhook]],
        record: Callable[[Delivery], None],
        *,
        retries: int = 5,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
        queue_size: int = 1000,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._list_webhooks = list_webhooks
        self._record = record
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._transport = transport
        self._events: queue.Queue[_Event] = queue.Queue(maxsize=queue_size)
        self._retrying: list[tuple[float, int, _Attempting]] = []  # heap by due time
        self._order = itertools.count()
        self._lock = threading.Condition()
        self._busy = 0  # events taken off the queue and not finished yet
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- the caller's side -----------------------------------------------------------------

    def notify(self, event: str, payload: dict[str, Any]) -> None:
        """Queue ``event`` for every webhook subscribed to it. Never raises, never blocks."""
        try:
            import orjson

            snapshot = orjson.loads(orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS))
            with self._lock:
                if self._closed:
                    log.warning("webhook event %s after close() was dropped", event)
                    return
                self._start()
                self._events.put_nowait(_Event(event, snapshot, now_ms()))
                self._lock.notify_all()
        except queue.Full:
            log.warning("webhook queue is full (%d events): event %s dropped", self._events.maxsize, event)
        except Exception:
            log.exception("webhook event %s could not be queued", event)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event is delivered or has failed; False if ``timeout`` ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._pending():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def close(self, timeout: float | None = 10.0) -> None:
        """Deliver what is queued (waiting at most ``timeout``), then stop the worker.

        Deliveries still waiting for a retry when it stops are recorded as failed.
        """
        self.flush(timeout)
        with self._lock:
            self._closed = True
            self._lock.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _pending(self) -> bool:
        return self._busy > 0 or not self._events.empty() or bool(self._retrying)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="shipyard-webhooks", daemon=True)
            self._thread.start()

    # -- the worker ------------------------------------------------------------------------

    def _run(self) -> None:
        import httpx

        client = httpx.Client(timeout=self.timeout_s, transport=self._transport, follow_redirects=False)
        try:
            while (work := self._next()) is not None:
                try:
                    if isinstance(work, _Event):
                        self._fan_out(client, work)
                    else:
                        self._attempt(client, work)
                finally:
                    with self._lock:
                        self._busy -= 1
                        self._lock.notify_all()
        finally:
            client.close()
            self._abandon()

    def _next(self) -> _Event | _Attempting | None:
        """The next event, or the next retry that is due; None once closed."""
        with self._lock:
            while not self._closed:
                if self._retrying and self._retrying[0][0] <= time.monotonic():
                    self._busy += 1
                    return heapq.heappop(self._retrying)[2]
                try:
                    event = self._events.get_nowait()
                except queue.Empty:
                    due = self._retrying[0][0] - time.monotonic() if self._retrying else None
                    self._lock.wait(due)
                    continue
                self._busy += 1
                return event
            return None

    def _fan_out(self, client: httpx.Client, event: _Event) -> None:
        try:
            webhooks = [hook for hook in self._list_webhooks() if subscribed(hook, event.name)]
        except Exception:
            log.exception("webhooks could not be listed: event %s not delivered", event.name)
            return
        for webhook in webhooks:
            self._attempt(client, _Attempting(webhook, event.name, event.payload, created_at=event.at))

    def _attempt(self, client: httpx.Client, work: _Attempting) -> None:
        """One POST; then record the outcome, or schedule the next try."""
        import httpx

        work.attempts += 1
        retry_after: float | None = None
        body = _body(work)
        try:
            response = client.post(work.webhook.url, content=body, headers=_headers(work, body))
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            work.last_error = f"{type(exc).__name__}: {exc}"
            return self._finish(work, "failed")
        except httpx.HTTPError as exc:
            work.last_error = f"{type(exc).__name__}: {exc}"
        else:
            work.response_code = response.status_code
            if response.is_success:
                work.last_error = None
                return self._finish(work, "delivered")
            work.last_error = f"HTTP {response.status_code}: {response.text[:200]}"
            if response.status_code != 429 and response.status_code < 500:
                return self._finish(work, "failed")
            retry_after = _retry_after(response.headers.get("Retry-After"))
        if work.attempts > self.retries:
            return self._finish(work, "failed")
        delay = self.backoff_s * 2 ** (work.attempts - 1)
        if retry_after is not None:
            delay = max(delay, retry_after)
        with self._lock:
            heapq.heappush(self._retrying, (time.monotonic() + delay, next(self._order), work))
        return None

    def _finish(self, work: _Attempting, status: str) -> None:
        delivered_at = now_ms() if status == "delivered" else None
        if status == "failed":
            log.warning(
                "webhook %s: %s failed after %d attempt(s): %s",
                work.webhook.url,
                work.event,
                work.attempts,
                work.last_error,
            )
        try:
            self._record(work.delivery(status, delivered_at))
        except Exception:
            log.exception("webhook delivery %s could not be recorded", work.delivery_id)

    def _abandon(self) -> None:
        """Record the retries left when the worker stops as failed."""
        with self._lock:
            left, self._retrying = [item[2] for item in self._retrying], []
            dropped = self._events.qsize()
            while not self._events.empty():
                self._events.get_nowait()
            self._lock.notify_all()
        if dropped:
            log.warning("webhook dispatcher closed with %d event(s) not sent", dropped)
        for work in left:
            work.last_error = f"{work.last_error} (dispatcher closed before the next retry)"
            self._finish(work, "failed")


def _body(work: _Attempting) -> bytes:
    import orjson

    envelope = {
        "event": work.event,
        "delivery_id": work.delivery_id,
        "sent_at": now_ms(),
        "payload": work.payload,
    }
    return orjson.dumps(envelope)


def _headers(work: _Attempting, body: bytes) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"shipyard-webhooks/{__version__}",
        EVENT_HEADER: work.event,
        DELIVERY_HEADER: work.delivery_id,
    }
    if work.webhook.secret:
        headers[SIGNATURE_HEADER] = sign(work.webhook.secret, body)
    return headers


def _retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` in seconds (the HTTP-date form is ignored), capped at a minute."""
    try:
        return None if value is None else min(max(float(value), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:
        return None
