"""The hash chain of the audit log: how a link is hashed and how a chain is verified.

Each event's ``hash`` is the SHA-256 (hex) of the canonical JSON of an object holding
exactly these fields::

    {"action", "actor", "payload_digest", "prev_hash", "seq", "target", "time", "v": 1}

Canonical JSON means ``sort_keys=True``, ``separators=(",", ":")``, ``ensure_ascii=False``,
encoded as UTF-8. ``seq`` is hashed: stores assign it themselves (``last seq + 1``)
inside the same serialised write transaction that reads the previous hash, so it is
known before the row is written. Hashing it makes renumbered or swapped rows
detectable. ``prev_hash`` of the first event (``seq`` 1) is :data:`GENESIS_HASH`.

What verification can and cannot see: an altered row, a removed first or middle row,
and reordered rows all break the chain. Removing the *last* rows leaves a valid,
shorter chain; only a head recorded elsewhere (an ``anchor``: a ``(seq, hash)`` pair
copied out of the database, e.g. into a ticket or a log) can reveal that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from shipyard.governance.models import AuditEvent, ChainReport

GENESIS_HASH = "0" * 64
HASH_VERSION = 1


def event_hash(
    seq: int, time: int, actor: str, action: str, target: str, payload_digest: str, prev_hash: str
) -> str:
    """SHA-256 (hex) of the canonical JSON of one link; see the module docstring.

    >>> event_hash(1, 0, "a", "b", "c", "sha256:", GENESIS_HASH)[:12]
    'da6c10df8474'
    """
    body = {
        "v": HASH_VERSION,
        "seq": seq,
        "time": time,
        "actor": actor,
        "action": action,
        "target": target,
        "payload_digest": payload_digest,
        "prev_hash": prev_hash,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_of(event: AuditEvent) -> str:
    """The hash an event should carry, recomputed from its content."""
    return event_hash(
        event.seq, event.time, event.actor, event.action, event.target, event.payload_digest, event.prev_hash
    )


def _broken(checked: int, seq: int, reason: str) -> ChainReport:
    return ChainReport(ok=False, checked=checked, first_broken_seq=seq, reason=reason)


def _check_link(event: AuditEvent, expected_seq: int, expected_prev: str) -> str | None:
    """Why ``event`` is not a valid next link, or None when it is."""
    if event.seq != expected_seq:
        if event.seq > expected_seq:
            missing = (
                f"{expected_seq}" if event.seq == expected_seq + 1 else f"{expected_seq}..{event.seq - 1}"
            )
            return f"seq {missing} missing: rows were removed"
        return f"seq {event.seq} follows seq {expected_seq - 1}: rows are out of order or repeated"
    if event.prev_hash != expected_prev:
        return "prev_hash does not match the hash of the previous event"
    if hash_of(event) != event.hash:
        return "hash does not match the event's content: the row was altered"
    return None


def verify_chain(events: Iterable[AuditEvent], anchor: tuple[int, str] | None = None) -> ChainReport:
    """Check a whole chain, in seq order from seq 1; report the first broken link.

    ``first_broken_seq`` is the seq of the first row that does not link: after a gap,
    the row that follows the removed ones.

    ``anchor`` is an optional ``(seq, hash)`` recorded outside the database earlier;
    the chain must reach that seq and carry that hash there, which reveals removed
    tail rows up to the anchor.
    """
    expected_seq, expected_prev, checked = 1, GENESIS_HASH, 0
    for event in events:
        reason = _check_link(event, expected_seq, expected_prev)
        if reason is not None:
            return _broken(checked, event.seq, reason)
        if anchor is not None and event.seq == anchor[0] and event.hash != anchor[1]:
            return _broken(checked, event.seq, "hash differs from the anchor recorded earlier")
        checked += 1
        expected_seq, expected_prev = event.seq + 1, event.hash
    if anchor is not None and anchor[0] >= expected_seq:
        return _broken(
            checked, expected_seq, f"chain ends before the anchor at seq {anchor[0]}: rows removed"
        )
    return ChainReport(ok=True, checked=checked)
