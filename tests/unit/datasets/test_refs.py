"""Dataset references: ``name`` and ``name@version``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.datasets.refs import DatasetRef, check_dataset_name, parse_ref

NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,30}", fullmatch=True)


@given(NAMES, st.integers(min_value=1, max_value=10**9))
def test_round_trip(name: str, version: int) -> None:
    assert parse_ref(f"{name}@{version}") == DatasetRef(name, version)
    assert str(parse_ref(f"{name}@{version}")) == f"{name}@{version}"
    assert parse_ref(name) == DatasetRef(name, None)


@pytest.mark.parametrize(
    "ref", ["name@x", "@3", "name@0", "name@", "name@-1", "name@1@2", "", "na me", "a/b@1"]
)
def test_bad_refs_say_the_accepted_form(ref: str) -> None:
    with pytest.raises(InvalidInputError, match=r"NAME@VERSION|name must use"):
        parse_ref(ref)


@pytest.mark.parametrize("name", ["", "-x", "a@b", "a b", "x" * 257, "ü"])
def test_bad_names(name: str) -> None:
    with pytest.raises(InvalidInputError):
        check_dataset_name(name)
