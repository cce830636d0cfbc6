"""Use cases of data versioning: add, status, get, diff, checkout, load, gc.

The service is the only door into a :class:`DatasetStore`; the SDK, the CLI and the
server all go through it. Blobs go to the :class:`ContentStore` before the version
row is written, in one transaction, after them: a crash in between leaves only
unreferenced blobs, which a later add reuses and ``gc`` removes.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shipyard.core.clock import now_ms
from shipyard.core.errors import ConflictError, InvalidInputError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.datasets.compare import diff_versions
from shipyard.datasets.hashing import HashResult, StatCache, hash_files, run_chunked
from shipyard.datasets.loading import FORMATS, load_tables
from shipyard.datasets.materialize import local_copy, materialize
from shipyard.datasets.models import Dataset, DatasetVersion, FileEntry
from shipyard.datasets.refs import check_dataset_name, parse_ref
from shipyard.datasets.reports import DatasetDiff, GcReport, StatusReport
from shipyard.datasets.snapshot import SourceFile, manifest_digest, scan_folder, scan_source
from shipyard.datasets.store.base import DatasetStore

if TYPE_CHECKING:
    from shipyard.governance.service import AuditService
    from shipyard.storage.cas import ContentStore

Files = list[SourceFile]


class Progress(Protocol):
    """Receives progress of long steps (``phase`` is ``"hash"`` or ``"upload"``, amounts in bytes)."""

    def start(self, phase: str, total: int) -> None: ...

    def advance(self, phase: str, amount: int) -> None: ...


class DatasetService:
    """Datasets: immutable, content-addressed versions of files and folders."""

    def __init__(
        self,
        store: DatasetStore,
        content: ContentStore,
        audit: AuditService | None = None,
        home: Path | None = None,
    ) -> None:
        self.store = store
        self.content = content
        self.audit = audit
        self.home = Path(home) if home is not None else None
        self.stat_cache = StatCache(self.home / "cache" / "statcache.sqlite") if self.home else None

    # -- add -------------------------------------------------------------------------
    def add(
        self, path: str | Path, name: str, message: str | None = None, *, progress: Progress | None = None
    ) -> DatasetVersion:
        """Snapshot a file or folder as the next version of ``name`` (or return the latest if equal)."""
        name = check_dataset_name(name)
        kind, files = scan_source(path)
        source = Path(path).absolute()
        hashed = self._hash(files, source, progress)
        entries = tuple(
            FileEntry(f.logical, digest, f.size) for f, digest in zip(files, hashed.digests, strict=True)
        )
        digest = manifest_digest(entries)
        latest = self.store.find_latest_version(name)
        if latest is not None and latest.digest == digest:
            return latest
        schema, row_count, profile = _profile([(f.logical, Path(f.path)) for f in files])
        self._upload(files, entries, progress)
        from shipyard.core.actors import current_actor

        draft = DatasetVersion(
            id=new_id(),
            name=name,
            version=0,
            digest=digest,
            created_at=now_ms(),
            kind=kind,
            files=entries,
            size=sum(e.size for e in entries),
            message=message,
            created_by=current_actor(),
            source_path=str(source),
            row_count=row_count,
            schema=schema,
            profile=profile,
        )
        version = self.store.create_version(draft, dataset_id=new_id())
        if version.id == draft.id:
            self._record("dataset.add", version, {"digest": digest, "files": len(entries)})
        return version

    def _hash(self, files: Files, root: Path, progress: Progress | None) -> HashResult:
        on_file: Callable[[int], None] | None = None
        if progress is not None:
            progress.start("hash", sum(f.size for f in files))
            on_file = lambda size: progress.advance("hash", size)  # noqa: E731
        return hash_files(
            [f.path for f in files],
            cache=self.stat_cache,
            root=root,
            on_file=on_file,
            stats=[f.fingerprint for f in files],
        )

    def _upload(self, files: Files, entries: Sequence[FileEntry], progress: Progress | None) -> None:
        """Store the blobs not yet in the content store: a few threads, each looping over its share.

        A local or S3 content store is given the digest just computed, so no file is
        read twice; it refuses a file whose stat changed since it was hashed.
        """
        from shipyard.storage.cas import ContentStore

        by_digest: dict[str, tuple[SourceFile, FileEntry]] = {}
        for file, entry in zip(files, entries, strict=True):
            by_digest.setdefault(entry.digest, (file, entry))
        items = list(by_digest.values())
        content = self.content
        known = isinstance(content, ContentStore)
        there = [False] * len(items)

        def check(i: int) -> None:
            digest = items[i][1].digest
            there[i] = content.stored_size(digest) == items[i][1].size if known else content.exists(digest)

        run_chunked(range(len(items)), check)
        missing = [item for item, ok in zip(items, there, strict=True) if not ok]
        if progress is not None:
            progress.start("upload", sum(e.size for _, e in missing))

        def put(item: tuple[SourceFile, FileEntry]) -> None:
            file, entry = item
            if known:
                content.put_file(file.path, entry.digest, unchanged=file.fingerprint)
            elif content.put_file(Path(file.path)) != (entry.digest, entry.size):
                raise ConflictError(f"{file.path!r} changed while it was being added; add it again")
            if progress is not None:
                progress.advance("upload", entry.size)

        run_chunked(missing, put)

    # -- status ----------------------------------------------------------------------
    def status(self, name: str) -> StatusReport:
        """How the folder (or file) the latest version was added from differs from it now."""
        version = self.get(name)
        if not version.source_path:
            raise InvalidInputError(f"{version.ref} has no recorded source folder to compare with")
        source = Path(version.source_path)
        if not source.exists():
            raise InvalidInputError(f"the source of {version.ref}, {str(source)!r}, no longer exists")
        files = scan_folder(source) if source.is_dir() else scan_source(source)[1]  # may now be empty
        hashed = hash_files(
            [f.path for f in files], cache=self.stat_cache, root=source, stats=[f.fingerprint for f in files]
        )
        now = {f.logical: (d, f.size) for f, d in zip(files, hashed.digests, strict=True)}
        before = {e.path: (e.digest, e.size) for e in version.files}
        modified = sorted(p for p in now.keys() & before.keys() if now[p] != before[p])
        return StatusReport(
            ref=version.ref,
            source_path=str(source),
            added=sorted(now.keys() - before.keys()),
            removed=sorted(before.keys() - now.keys()),
            modified=modified,
            unchanged_count=len(now.keys() & before.keys()) - len(modified),
            hashed=hashed.hashed,
        )

    # -- reads -----------------------------------------------------------------------
    def get(self, ref: str) -> DatasetVersion:
        """The version named by ``"name@3"``, or the latest by ``"name"``."""
        parsed = parse_ref(ref)
        if parsed.version is not None:
            return self.store.get_version(parsed.name, parsed.version)
        latest = self.store.find_latest_version(parsed.name)
        if latest is None:
            raise NotFoundError(f"dataset {parsed.name!r} not found")
        return latest

    def list(self, limit: int = 1000, offset: int = 0) -> list[Dataset]:
        """Datasets sorted by name."""
        return self.store.list_datasets(limit=max(1, limit), offset=max(0, offset))

    def versions(self, name: str) -> builtins.list[DatasetVersion]:
        """Every version of ``name``, oldest first."""
        return self.store.list_versions(check_dataset_name(name))

    def diff(self, ref_a: str, ref_b: str) -> DatasetDiff:
        """Files added, removed and changed from ``ref_a`` to ``ref_b``; schema and profile changes."""
        return diff_versions(self.get(ref_a), self.get(ref_b))

    # -- materialise -----------------------------------------------------------------
    def checkout(self, ref: str, dest: str | Path, *, force: bool = False) -> builtins.list[Path]:
        """Write the files of a version under ``dest``: read-only hard links when possible, verified."""
        version = self.get(ref)
        return materialize(self.content, version.files, Path(dest), force=force)

    def local_path(self, ref: str) -> Path:
        """A verified local copy of a version (its folder, or for a single file the file), cached."""
        if self.home is None:
            raise InvalidInputError("this dataset service has no home folder for its local cache")
        return local_copy(self.content, self.get(ref), self.home / "cache" / "datasets")

    def load(self, ref: str, format: str = "pandas") -> Any:
        """The data of a version: a pandas DataFrame, an Arrow table (``"arrow"``) or a local ``"path"``."""
        if format not in FORMATS:
            raise InvalidInputError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
        version = self.get(ref)
        root = self.local_path(version.ref)
        if format == "path":
            return root
        if version.kind == "file":
            files = [(version.files[0].path, root)]
        else:
            files = [(f.path, root.joinpath(*f.path.split("/"))) for f in version.files]
        table = load_tables(files, version.ref)
        return table if format == "arrow" else table.to_pandas()

    # -- gc --------------------------------------------------------------------------
    def gc(self, dry_run: bool = True, keep: set[str] | frozenset[str] = frozenset()) -> GcReport:
        """Blobs no dataset version references and not in ``keep``: listed, or deleted when not a dry run.

        Do not run it while an ``add`` is in progress: that add's blobs are not referenced yet.
        """
        content = self.content
        if not hasattr(content, "iter_digests"):
            raise InvalidInputError("gc needs direct access to the artifact store: run it on the server")
        referenced = self.store.referenced_digests()
        orphans = sorted(set(content.iter_digests()) - referenced - set(keep))
        size = sum(content.size(d) for d in orphans)
        if not dry_run:
            for digest in orphans:
                try:
                    content.delete(digest)
                except NotFoundError:  # removed meanwhile by another gc
                    continue
            self._record("dataset.gc", None, {"deleted": len(orphans), "bytes": size})
        return GcReport(orphans, size, not dry_run, len(referenced), len(set(keep)))

    def _record(self, action: str, version: DatasetVersion | None, payload: Any) -> None:
        if self.audit is not None:
            from shipyard.core.actors import current_actor

            target = f"dataset:{version.ref}" if version is not None else "datasets"
            self.audit.record(current_actor(), action, target, payload)


def _profile(files: list[tuple[str, Path]]) -> tuple[dict[str, Any], int | None, dict[str, Any]]:
    """Schema, row count and profile of the tabular files (the other files are skipped there)."""
    from shipyard.tabular import is_tabular

    tables = [(logical, path) for logical, path in files if is_tabular(logical)]
    if not tables:  # nothing to profile: do not even load the SQL engine
        return {}, None, {}
    from shipyard.datasets.profile import profile_files

    schema, row_count, profile = profile_files(tables)
    return schema, row_count, profile
