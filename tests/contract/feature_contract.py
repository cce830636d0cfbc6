"""What every feature registry store (memory, SQL, REST) must do, as one reusable test class.

A subclass provides a ``store`` fixture; every test starts from an empty store. The
drafts are real, canonical specs, so a server that checks them accepts them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shipyard.core.errors import AlreadyExistsError, ConflictError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.features.models import (
    Definition,
    Entity,
    FeatureObject,
    FeatureService,
    FeatureView,
    Watermark,
    kind_of,
    spec_digest,
)
from shipyard.features.store.base import FeatureRegistryStore

USER = Entity("user", ["user_id"])


def view(ttl_days: int = 30, name: str = "user_stats") -> FeatureView:
    return FeatureView(
        name=name,
        entities=[USER],
        source="transactions@3",
        timestamp_field="event_time",
        ttl=timedelta(days=ttl_days),
        features={"avg_amount_7d": "float", "tx_count_7d": "int"},
    )


def draft(obj: FeatureObject, at: int = 1_700_000_000_000, id: str | None = None) -> Definition:
    spec = obj.spec()
    return Definition(id or new_id(), kind_of(obj), obj.name, 0, spec_digest(spec), spec, at, "alice")


class FeatureRegistryStoreContract:
    """The behaviour every :class:`FeatureRegistryStore` shares."""

    def test_versions_are_numbered_and_read_back(self, store: FeatureRegistryStore) -> None:
        first = store.create_definition(draft(view(30)))
        second = store.create_definition(draft(view(7)))
        assert (first.ref, second.ref) == ("user_stats@1", "user_stats@2")
        assert store.get_definition("feature_view", "user_stats", 1) == first
        assert first.spec == view(30).spec() and first.created_by == "alice"
        assert store.find_latest("feature_view", "user_stats") == second
        assert [d.version for d in store.list_versions("feature_view", "user_stats")] == [1, 2]
        assert FeatureView.from_spec(store.get_definition("feature_view", "user_stats", 2).spec) == view(7)

    def test_the_same_digest_writes_nothing(self, store: FeatureRegistryStore) -> None:
        first = store.create_definition(draft(USER))
        again = store.create_definition(draft(USER))
        assert again == first and again.version == 1
        assert len(store.list_versions("entity", "user")) == 1

    def test_kinds_are_separate_namespaces(self, store: FeatureRegistryStore) -> None:
        store.create_definition(draft(USER))
        store.create_definition(draft(view()))
        store.create_definition(draft(FeatureService("user", ["user_stats:tx_count_7d"])))
        assert store.find_latest("feature_view", "user") is None
        listed = store.list_definitions()
        assert [(d.kind, d.name) for d in listed] == [
            ("entity", "user"), ("feature_service", "user"), ("feature_view", "user_stats"),
        ]  # fmt: skip
        assert [d.name for d in store.list_definitions("entity")] == ["user"]
        assert [d.name for d in store.list_definitions(limit=1, offset=1)] == ["user"]

    def test_list_shows_the_latest_version_of_each_name(self, store: FeatureRegistryStore) -> None:
        store.create_definition(draft(view(30)))
        store.create_definition(draft(view(7)))
        store.create_definition(draft(view(1, name="other")))
        assert [(d.name, d.version) for d in store.list_definitions("feature_view")] == [
            ("other", 1), ("user_stats", 2),
        ]  # fmt: skip

    def test_expected_version_guards_against_a_concurrent_apply(self, store: FeatureRegistryStore) -> None:
        assert store.create_definition(draft(view(30)), expected_version=0).version == 1
        with pytest.raises(ConflictError, match="changed meanwhile"):
            store.create_definition(draft(view(7)), expected_version=0)
        assert store.create_definition(draft(view(7)), expected_version=1).version == 2
        assert store.create_definition(draft(view(7)), expected_version=0).version == 2, "same digest: no-op"

    def test_unknown_names_and_versions(self, store: FeatureRegistryStore) -> None:
        assert store.find_latest("entity", "nobody") is None
        with pytest.raises(NotFoundError, match="'nobody' not found"):
            store.list_versions("entity", "nobody")
        with pytest.raises(NotFoundError):
            store.get_definition("entity", "nobody", 1)
        store.create_definition(draft(USER))
        with pytest.raises(NotFoundError, match="no version 2"):
            store.get_definition("entity", "user", 2)

    def test_ids_are_unique(self, store: FeatureRegistryStore) -> None:
        chosen = "c" * 32
        store.create_definition(draft(USER, id=chosen))
        with pytest.raises(AlreadyExistsError):
            store.create_definition(draft(view(), id=chosen))

    def test_watermarks(self, store: FeatureRegistryStore) -> None:
        assert store.find_watermark("user_stats") is None and store.list_watermarks() == []
        mark = Watermark(
            "user_stats", 1, end_ms=2_000, start_ms=None, rows=10, updated_at=5, updated_by="bob"
        )
        store.set_watermark(mark)
        later = Watermark(
            "user_stats", 2, end_ms=3_000, start_ms=2_001, rows=4, updated_at=6, updated_by="bob"
        )
        store.set_watermark(later)
        store.set_watermark(Watermark("a_view", 1, end_ms=1))
        assert store.find_watermark("user_stats") == later
        assert [w.view for w in store.list_watermarks()] == ["a_view", "user_stats"]
