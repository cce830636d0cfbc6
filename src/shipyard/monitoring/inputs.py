"""What a check reads: column profiles from a stored profile, or built from data as they are needed.

Both sides of a check are :class:`ProfileProvider` objects. A stored
:class:`~shipyard.monitoring.profiles.ReferenceProfile` hands out its column profiles;
:class:`SourceProfiles` reads one column of a table at a time and profiles it on the
spot, so that data is read once and a column is let go as soon as it is reduced.
:func:`provider_for` turns what users pass (DataFrame, Arrow table, Parquet path,
dataset reference, profile) into one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from shipyard.core.errors import InvalidInputError
from shipyard.monitoring.profiles import (
    DEFAULT_MAX_SAMPLE,
    DEFAULT_PSI_BINS,
    ColumnProfile,
    ReferenceProfile,
    column_kind,
    profile_column,
)
from shipyard.monitoring.sources import ColumnSource, ParquetSource, is_table_like, open_source

if TYPE_CHECKING:
    from shipyard.datasets.service import DatasetService
    from shipyard.monitoring.profile_cache import ProfileCache

__all__ = ["ProfileProvider", "SourceProfiles", "StoredProfiles", "provider_for", "source_for"]


class ProfileProvider(Protocol):
    """Column profiles of one side of a check."""

    @property
    def names(self) -> list[str]: ...

    def unsupported(self, name: str) -> str | None:
        """Why column ``name`` cannot be checked (its type), or None."""
        ...

    def profile(self, name: str, like: ColumnProfile | None = None) -> ColumnProfile:
        """The profile of column ``name``, read the way ``like`` (the reference's) was."""
        ...


class StoredProfiles:
    """The columns of a stored reference profile."""

    def __init__(self, profile: ReferenceProfile) -> None:
        self.stored = profile

    @property
    def names(self) -> list[str]:
        return self.stored.names

    def unsupported(self, name: str) -> str | None:
        return self.stored.skipped.get(name)

    def profile(self, name: str, like: ColumnProfile | None = None) -> ColumnProfile:
        column = self.stored.column(name)
        if like is not None and like.kind != column.kind:
            raise InvalidInputError(f"column {name!r} is {like.kind} in the reference but {column.kind} here")
        return column


class SourceProfiles:
    """Profiles built from a table, one column at a time, when asked for."""

    def __init__(
        self,
        source: ColumnSource,
        max_sample: int | None = DEFAULT_MAX_SAMPLE,
        psi_bins: int | None = DEFAULT_PSI_BINS,
    ) -> None:
        self.source = source
        self.max_sample = max_sample
        self.psi_bins = psi_bins

    @property
    def names(self) -> list[str]:
        return self.source.names

    def unsupported(self, name: str) -> str | None:
        arrow_type = self.source.type(name)
        return None if column_kind(arrow_type) is not None else f"type {arrow_type} is not supported"

    def profile(self, name: str, like: ColumnProfile | None = None) -> ColumnProfile:
        if like is None:
            return profile_column(self.source, name, max_sample=self.max_sample, psi_bins=self.psi_bins)
        # a window is read the way its reference was, and needs no bins, mean or std of its own
        return profile_column(
            self.source, name, like.kind, max_sample=self.max_sample, psi_bins=None, summary=False
        )


def source_for(data: Any, datasets: DatasetService | None = None) -> ColumnSource:
    """A column source over a DataFrame, Arrow table, Parquet path or dataset reference ``"name@3"``."""
    if isinstance(data, str):
        if datasets is None:
            raise InvalidInputError(f"{data!r} looks like a dataset reference, but there is no workspace")
        return _dataset_source(data, datasets)
    if is_table_like(data):
        return open_source(data)
    raise InvalidInputError(
        f"cannot read {type(data).__name__}: pass a pandas DataFrame, an Arrow table, a dataset "
        "reference like 'name@3' or a path to Parquet files"
    )


def provider_for(
    data: Any,
    datasets: DatasetService | None = None,
    cache: ProfileCache | None = None,
    *,
    max_sample: int | None = DEFAULT_MAX_SAMPLE,
) -> ProfileProvider:
    """Column profiles of ``data``; a dataset reference's profile is built once and kept in ``cache``."""
    if isinstance(data, ReferenceProfile):
        return StoredProfiles(data)
    if isinstance(data, str) and datasets is not None and cache is not None:
        version = datasets.get(data)
        key = f"{version.digest}:sample={max_sample}:bins={DEFAULT_PSI_BINS}"
        profile = cache.get(key)
        if profile is None:
            profile = _build(_dataset_source(version.ref, datasets), version.ref, max_sample)
            cache.put(key, profile)
        return StoredProfiles(profile)
    return SourceProfiles(source_for(data, datasets), max_sample)


def _build(source: ColumnSource, name: str, max_sample: int | None) -> ReferenceProfile:
    from shipyard.monitoring.profiles import build_profile

    return build_profile(source, max_sample=max_sample, source=name)


def _dataset_source(ref: str, datasets: DatasetService) -> ColumnSource:
    """Parquet versions are read column by column from the local copy; others through ``load``."""
    from shipyard.monitoring.sources import ArrowSource

    version = datasets.get(ref)
    paths = [f.path for f in version.files]
    if paths and all(p.lower().endswith((".parquet", ".pq")) for p in paths):
        root = datasets.local_path(version.ref)
        if version.kind == "file":
            return ParquetSource([root])
        return ParquetSource([root.joinpath(*p.split("/")) for p in sorted(paths)])
    return ArrowSource(datasets.load(version.ref, format="arrow"))
