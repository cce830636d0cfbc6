"""Model URIs: every accepted form parses, canonical forms round-trip, mistakes are named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.models.uris import ModelRef, check_model_name, parse_model_uri

names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,40}", fullmatch=True)
aliases = st.from_regex(r"[A-Za-z_][A-Za-z0-9_\-]{0,30}", fullmatch=True)
versions = st.integers(min_value=1, max_value=10**12)
run_ids = st.from_regex(r"[0-9a-f]{32}", fullmatch=True)
segments = st.from_regex(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,12}", fullmatch=True).filter(
    lambda s: s not in (".", "..")
)
paths = st.lists(segments, min_size=1, max_size=3).map("/".join)

refs = st.one_of(
    st.builds(lambda r, p: ModelRef("run", run_id=r, path=p), run_ids, paths),
    st.builds(lambda n, v: ModelRef("version", name=n, version=v), names, versions),
    st.builds(lambda n, a: ModelRef("alias", name=n, alias=a), names, aliases),
)


@given(refs)
def test_canonical_uris_round_trip(ref: ModelRef) -> None:
    assert parse_model_uri(str(ref)) == ref
    assert parse_model_uri(ref) is ref


@given(names, versions)
def test_version_shorthands_mean_the_same(name: str, version: int) -> None:
    expected = ModelRef("version", name=name, version=version)
    for text in (
        f"models:/{name}/{version}",
        f"models:/{name}@{version}",
        f"{name}:{version}",
        f"{name}@{version}",
    ):
        assert parse_model_uri(text) == expected


@given(names, aliases)
def test_alias_shorthand(name: str, alias: str) -> None:
    assert parse_model_uri(f"{name}@{alias}") == parse_model_uri(f"models:/{name}@{alias}")
    assert parse_model_uri(f"{name}@{alias}").alias == alias


def test_run_uri_parts_and_normalised_path() -> None:
    ref = parse_model_uri("runs:/" + "a" * 32 + "/models/./clf/")
    assert (ref.kind, ref.run_id, ref.path) == ("run", "a" * 32, "models/clf")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "runs:/"),
        ("churn", "shorthands"),
        ("models:/churn", "shorthands"),
        ("models:/churn/0", "version >= 1"),
        ("models:/churn/x", "version >= 1"),
        ("churn:latest", "version >= 1"),
        ("churn@", "alias"),
        ("churn@-x", "alias"),
        ("churn@7x", "alias"),
        ("-churn@champion", "name"),
        ("models:/a/b@c", "name"),
        ("runs:/", "runs:/<run_id>/<path>"),
        ("runs:/abc", "runs:/<run_id>/<path>"),
        ("runs:/abc/", "runs:/<run_id>/<path>"),
        ("runs:/ab-c/model", "runs:/<run_id>/<path>"),
        ("runs:/abc/../escape", "'..'"),
    ],
)
def test_bad_uris_say_what_is_wrong(text: str, hint: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid model URI") as info:
        parse_model_uri(text)
    assert hint in info.value.message


@pytest.mark.parametrize("bad", [None, 7, ["churn@1"]])
def test_non_strings_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInputError):
        parse_model_uri(bad)


@pytest.mark.parametrize("bad", ["", "-x", "a b", "a/b", "x" * 257])
def test_model_names_are_checked(bad: str) -> None:
    with pytest.raises(InvalidInputError):
        check_model_name(bad)
