"""The contract every :class:`ScheduleStore` backend passes unchanged.

A backend's test class subclasses :class:`ScheduleStoreContract` and provides a
``store`` fixture yielding an *empty* store.
"""

from __future__ import annotations

import dataclasses

import pytest

from shipyard.core.errors import NotFoundError
from shipyard.core.ids import new_id
from shipyard.pipelines.models import MANUAL, Claim, ClaimStatus, PipelineRequest, Schedule, Trigger
from shipyard.pipelines.store.base import ScheduleStore


def make_schedule(ref: str = "train:training", **changes: object) -> Schedule:
    schedule = Schedule(
        id=new_id(),
        ref=ref,
        pipeline="training",
        cron="0 3 * * *",
        triggers=(Trigger("dataset", "transactions", "data"), Trigger("alert", "fraud-*")),
        catchup=True,
        params={"epochs": 3, "cols": ["a"]},
        created_at=1000,
        created_by="ann",
        updated_at=1000,
        cron_at=1000,
        audit_seq=7,
    )
    return dataclasses.replace(schedule, **changes)  # type: ignore[arg-type]


def make_claim(schedule_id: str, key: str, at: int = 5000) -> Claim:
    return Claim(schedule_id, key, "train:training", "cron 0 3 * * *", at, "host:1")


class ScheduleStoreContract:
    def test_a_schedule_round_trips_and_is_found_by_id_or_ref(self, store: ScheduleStore) -> None:
        saved = store.save_schedule(make_schedule())
        assert saved == make_schedule(id=saved.id)
        assert store.find_schedule(saved.id) == saved == store.find_schedule("train:training")
        assert store.find_schedule("nope") is None

    def test_saving_a_ref_again_replaces_it_and_keeps_its_identity(self, store: ScheduleStore) -> None:
        first = store.save_schedule(make_schedule())
        again = store.save_schedule(make_schedule(cron=None, triggers=(), created_by="bob", updated_at=9))
        assert (again.id, again.created_by, again.cron, again.triggers) == (first.id, "ann", None, ())
        store.save_schedule(make_schedule("a:b"))
        assert [s.ref for s in store.list_schedules()] == ["a:b", "train:training"]
        assert store.delete_schedule(first.id) and not store.delete_schedule(first.id)
        assert [s.ref for s in store.list_schedules()] == ["a:b"]

    def test_trigger_state_only_moves_forward(self, store: ScheduleStore) -> None:
        saved = store.save_schedule(make_schedule())
        store.advance(saved.id, cron_at=5000, audit_seq=3)
        found = store.find_schedule(saved.id)
        assert found is not None and (found.cron_at, found.audit_seq) == (5000, 7)
        store.advance(saved.id, audit_seq=20)
        store.advance(saved.id, cron_at=10)
        found = store.find_schedule(saved.id)
        assert found is not None and (found.cron_at, found.audit_seq) == (5000, 20)

    def test_an_event_is_claimed_once(self, store: ScheduleStore) -> None:
        assert store.claim(make_claim("s1", "cron:1"))
        assert not store.claim(make_claim("s1", "cron:1", at=6000)), "a taken key is refused"
        assert store.claim(make_claim("s2", "cron:1")), "another schedule claims the same event"
        assert store.claim(make_claim("s1", "audit:4", at=7000))
        claims = store.list_claims("s1")
        assert [(c.event_key, c.claimed_at) for c in claims] == [("audit:4", 7000), ("cron:1", 5000)]
        assert len(store.list_claims(limit=2)) == 2

    def test_a_claim_records_progress(self, store: ScheduleStore) -> None:
        store.claim(make_claim("s1", "cron:1"))
        store.update_claim("s1", "cron:1", ClaimStatus.RUNNING, "run1")
        store.update_claim("s1", "cron:1", ClaimStatus.FAILED, "run2", 9000, "boom")
        [claim] = store.list_claims()
        assert (claim.status, claim.pipeline_run_id, claim.ended_at, claim.error) == (
            ClaimStatus.FAILED,
            "run1",
            9000,
            "boom",
        )
        with pytest.raises(NotFoundError):
            store.update_claim("s1", "cron:2", ClaimStatus.RUNNING)

    def test_claiming_a_request_marks_it_claimed_in_the_same_transaction(self, store: ScheduleStore) -> None:
        request = PipelineRequest(new_id(), "train:training", {"n": 1}, "drift", 100, "ann")
        later = PipelineRequest(new_id(), "train:training", {}, "", 200, "bob")
        store.add_request(later)
        store.add_request(request)
        assert [r.id for r in store.list_requests()] == [request.id, later.id]
        assert store.claim(make_claim(MANUAL, f"request:{request.id}"), request.id)
        assert not store.claim(make_claim(MANUAL, f"request:{request.id}"), request.id)
        assert [r.id for r in store.list_requests()] == [later.id]
        assert {r.id: r.status for r in store.list_requests(None)} == {
            request.id: "claimed",
            later.id: "pending",
        }
        assert store.list_requests(None)[0].params == {"n": 1}
