"""The audit log: what verification detects, what it cannot, and concurrent appenders."""

from __future__ import annotations

import dataclasses
import multiprocessing

import pytest
import sqlalchemy as sa

from shipyard.db.engine import get_engine
from shipyard.governance.chain import GENESIS_HASH, event_hash, verify_chain
from shipyard.governance.service import PAGE_SIZE, AuditService, payload_digest
from shipyard.governance.store.memory import MemoryAuditStore
from shipyard.governance.store.sql import SqlAuditStore


@pytest.fixture
def audit(sqlite_uri: str) -> AuditService:
    service = AuditService(SqlAuditStore(sqlite_uri))
    for i in range(1, 6):
        service.record("alice", "thing.update", f"thing:{i}", {"i": i})
    return service


def _sql(uri: str, *statements: str) -> None:
    """Tamper with the table directly, as someone with file access could."""
    with get_engine(uri).begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


def test_untouched_chain_verifies(audit: AuditService) -> None:
    report = audit.verify()
    assert report.ok and report.checked == 5
    assert report.first_broken_seq is None and report.reason is None


def test_record_stores_only_a_digest_of_the_payload(audit: AuditService) -> None:
    event = audit.record("bob", "run.create", "run:1", {"b": 2, "a": [1, "x"]})
    assert event.payload_digest == payload_digest({"a": [1, "x"], "b": 2})  # key order does not matter
    assert event.payload_digest.startswith("sha256:") and len(event.payload_digest) == 71
    assert audit.record("bob", "x", "y").payload_digest == payload_digest(None)


def test_altered_row_is_detected(audit: AuditService, sqlite_uri: str) -> None:
    _sql(sqlite_uri, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3")
    report = audit.verify()
    assert not report.ok
    assert (report.first_broken_seq, report.checked) == (3, 2)
    assert report.reason is not None and "altered" in report.reason


def test_altered_row_with_recomputed_hash_breaks_the_next_link(audit: AuditService, sqlite_uri: str) -> None:
    row = audit.list_events()[2]
    forged = dataclasses.replace(row, actor="mallory")
    new_hash = event_hash(
        3, forged.time, "mallory", forged.action, forged.target, forged.payload_digest, forged.prev_hash
    )
    _sql(sqlite_uri, f"UPDATE audit_events SET actor = 'mallory', hash = '{new_hash}' WHERE seq = 3")
    report = audit.verify()
    assert not report.ok and report.first_broken_seq == 4
    assert report.reason is not None and "prev_hash" in report.reason


def test_deleted_middle_row_is_detected(audit: AuditService, sqlite_uri: str) -> None:
    _sql(sqlite_uri, "DELETE FROM audit_events WHERE seq = 3")
    report = audit.verify()
    assert not report.ok and report.first_broken_seq == 4
    assert report.reason is not None and "seq 3 missing" in report.reason


def test_deleted_first_row_is_detected(audit: AuditService, sqlite_uri: str) -> None:
    _sql(sqlite_uri, "DELETE FROM audit_events WHERE seq = 1")
    report = audit.verify()
    assert not report.ok and report.first_broken_seq == 2


def test_deleted_last_row_needs_an_anchor(audit: AuditService, sqlite_uri: str) -> None:
    """Limitation: removing the newest rows leaves a shorter chain that is still valid.

    Nothing inside the database can tell, since whoever can delete rows can delete
    any head stored beside them. The remedy is an anchor kept elsewhere: ``head()``
    copied to a log, a ticket or another system, then passed to ``verify``.
    """
    anchor = audit.head()
    assert anchor is not None and anchor[0] == 5
    _sql(sqlite_uri, "DELETE FROM audit_events WHERE seq = 5")
    assert audit.verify().ok  # not detectable by the chain alone
    report = audit.verify(anchor=anchor)
    assert not report.ok and report.first_broken_seq == 5
    assert report.reason is not None and "anchor" in report.reason


def test_anchor_from_the_past_still_verifies_a_longer_chain(audit: AuditService) -> None:
    anchor = audit.head()
    audit.record("alice", "thing.update", "thing:6")
    assert audit.verify(anchor=anchor).ok
    assert not audit.verify(anchor=(3, "f" * 64)).ok


def test_reordered_rows_are_detected(audit: AuditService, sqlite_uri: str) -> None:
    _sql(
        sqlite_uri,
        "UPDATE audit_events SET seq = -1 WHERE seq = 2",
        "UPDATE audit_events SET seq = 2 WHERE seq = 3",
        "UPDATE audit_events SET seq = 3 WHERE seq = -1",
    )
    report = audit.verify()
    assert not report.ok and report.first_broken_seq == 2


def test_verify_chain_on_lists() -> None:
    store = MemoryAuditStore()
    for i in range(4):
        store.append(i, "a", "b", f"t{i}", payload_digest(i))
    events = store.list_events()
    assert events[0].prev_hash == GENESIS_HASH
    assert verify_chain(events).ok
    swapped = [events[0], events[2], events[1], events[3]]
    assert verify_chain(swapped).first_broken_seq == 3
    repeated = [events[0], events[1], events[1]]
    assert verify_chain(repeated).first_broken_seq == 2


def test_verify_streams_every_page() -> None:
    audit = AuditService(MemoryAuditStore())
    for i in range(PAGE_SIZE * 2 + 5):
        audit.record("a", "b", f"t{i}")
    assert audit.verify().checked == PAGE_SIZE * 2 + 5


def _append_many(uri: str, worker: int, count: int) -> int:
    audit = AuditService(SqlAuditStore(uri))
    for i in range(count):
        audit.record(f"worker{worker}", "test.append", f"item:{i}", {"i": i})
    return count


def test_concurrent_processes_keep_one_chain(sqlite_uri: str) -> None:
    SqlAuditStore(sqlite_uri)  # create the schema before the workers start
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        done = pool.starmap(_append_many, [(sqlite_uri, w, 200) for w in range(4)])
    assert done == [200] * 4
    audit = AuditService(SqlAuditStore(sqlite_uri))
    report = audit.verify()
    assert report.ok, report
    assert report.checked == 800
    actors = {e.actor for e in audit.list_events(limit=1000)}
    assert actors == {f"worker{w}" for w in range(4)}
