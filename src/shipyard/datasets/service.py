"""Use cases of data versioning: add, status, get, diff, checkout, load, gc.

The service is the only door into a :class:`DatasetStore`; the SDK, the CLI and the
server all go through it. Blobs go to the :class:`ContentStore` before the version
row is written, in one transaction, after them: a crash in between leaves only
unreferenced blobs, which a later add reuses and ``gc`` removes.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.clock import now_ms
from shipyard.core.errors import ConflictError, InvalidInputError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.datasets.capture import Progress, Snapshot, capture, remember, stat_cache_for
from shipyard.datasets.compare import diff_versions
from shipyard.datasets.hashing import file_content, hash_files, run_chunked
from shipyard.datasets.loading import FORMATS, load_tables
from shipyard.datasets.materialize import local_copy, materialize
from shipyard.datasets.models import Dataset, DatasetVersion, FileEntry
from shipyard.datasets.refs import check_dataset_name, parse_ref
from shipyard.datasets.reports import DatasetDiff, GcReport, StatusReport
from shipyard.datasets.snapshot import FolderStat, SourceFile, scan_existing, scan_source
from shipyard.datasets.statcache import source_listing
from shipyard.datasets.statusfile import remove_status, write_status
from shipyard.datasets.store.base import DatasetStore
from shipyard.storage.packs import PACK_THRESHOLD

if TYPE_CHECKING:
    from shipyard.governance.service import AuditService
    from shipyard.storage.cas import ContentStore

__all__ = ["DatasetService", "Progress", "Snapshot"]

Files = list[SourceFile]


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
        self.stat_cache = stat_cache_for(self.home) if self.home else None

    # -- add -------------------------------------------------------------------------
    def add(
        self, path: str | Path, name: str, message: str | None = None, *, progress: Progress | None = None
    ) -> DatasetVersion:
        """Snapshot a file or folder as the next version of ``name`` (or return the latest if equal)."""
        name = check_dataset_name(name)
        return self.record(
            name, capture(path, self.content, self.stat_cache, progress), message, progress=progress
        )

    def record(
        self, name: str, snapshot: Snapshot, message: str | None = None, *, progress: Progress | None = None
    ) -> DatasetVersion:
        """Record a :func:`~shipyard.datasets.capture.capture` of a source as the next version of ``name``.

        The contents the store lacks are stored first; if the latest version has the same
        manifest, it is returned and nothing is written. ``add`` is ``capture`` + ``record``.
        """
        name = check_dataset_name(name)
        folder = snapshot.kind == "folder"
        try:
            version = self._record_version(name, message, snapshot, progress)
        except BaseException:  # what was hashed need not be hashed again
            remember(self.stat_cache, snapshot.source, snapshot.files, snapshot.hashed, None, folder=folder)
            raise
        finally:
            snapshot.discard()
        complete = remember(
            self.stat_cache, snapshot.source, snapshot.files, snapshot.hashed, snapshot.digest, folder=folder
        )
        held = complete and (version.digest, version.kind, version.source_path) == (
            snapshot.digest,
            snapshot.kind,
            snapshot.source,
        )
        self._save_status(version, snapshot.files, snapshot.folders, snapshot.scanned_ns, held)
        return version

    def _save_status(
        self, version: DatasetVersion, files: Files, folders: list[FolderStat], scanned_ns: int, held: bool
    ) -> None:
        """Write the status file of ``version`` when its source ``held`` it as scanned; else drop it.

        A version that is not the latest is never given one (``add`` and ``status`` only
        see the latest); see :mod:`shipyard.datasets.statusfile`.
        """
        if self.home is None:
            return
        if not held or version.source_path is None:
            remove_status(self.home, version.name)
            return
        head = (version.name, version.version, version.digest, version.kind, version.source_path)
        write_status(self.home, head, files, folders, scanned_ns)

    def _record_version(
        self, name: str, message: str | None, snapshot: Snapshot, progress: Progress | None
    ) -> DatasetVersion:
        """Store the contents and record the version (or return the latest, when it is the same)."""
        latest = self.store.find_latest_version(name)
        if latest is not None and latest.digest == snapshot.digest:
            return latest
        schema, row_count, profile = _profile(snapshot.files)
        self._upload(snapshot, progress)
        from shipyard.core.actors import current_actor

        draft = DatasetVersion(
            id=new_id(),
            name=name,
            version=0,
            digest=snapshot.digest,
            created_at=now_ms(),
            kind=snapshot.kind,
            files=snapshot.entries,
            size=sum(e.size for e in snapshot.entries),
            message=message,
            created_by=current_actor(),
            source_path=snapshot.source,
            row_count=row_count,
            schema=schema,
            profile=profile,
        )
        version = self.store.create_version(draft, dataset_id=new_id())
        if version.id == draft.id:
            self._record("dataset.add", version, {"digest": version.digest, "files": len(version.files)})
        return version

    def _upload(self, snapshot: Snapshot, progress: Progress | None) -> None:
        """Store the contents not yet in the content store: small ones in packs, big ones loose.

        The bytes of small files kept from hashing are stored as they were hashed; a big
        file is stored from its staged copy, or copied now, under the digest just computed,
        and refused (ConflictError) if its stat changed since. A content store over REST
        gets each file uploaded instead.
        """
        from shipyard.storage.cas import ContentStore

        files, entries, kept, staged = (
            snapshot.files,
            snapshot.entries,
            snapshot.hashed.contents,
            snapshot.staged,
        )
        first: dict[str, int] = {}
        for i, entry in enumerate(entries):
            first.setdefault(entry.digest, i)
        content = self.content
        if not isinstance(content, ContentStore):
            self._upload_each(files, entries, sorted(first.values()), progress)
            return
        stored = content.stored_sizes(first)
        missing = [i for digest, i in first.items() if stored.get(digest) != entries[i].size]
        if progress is not None:
            progress.start("upload", sum(entries[i].size for i in missing))
        small = [i for i in missing if entries[i].size < PACK_THRESHOLD]
        with content.packing(looked_up=True) as pack:
            pack.put_all(
                (self._small_content(files[i], entries[i], kept.get(i)), entries[i].digest) for i in small
            )
        if progress is not None:
            progress.advance("upload", sum(entries[i].size for i in small))

        def put(i: int) -> None:
            copy = staged.pop(i, None)
            if copy is not None:
                copy.commit(entries[i].digest)
            else:
                content.put_file(files[i].path, entries[i].digest, unchanged=files[i].fingerprint)
            if progress is not None:
                progress.advance("upload", entries[i].size)

        run_chunked([i for i in missing if entries[i].size >= PACK_THRESHOLD], put)

    @staticmethod
    def _small_content(file: SourceFile, entry: FileEntry, kept: bytes | None) -> bytes:
        """The bytes hashed for ``entry``: kept from hashing, else read again and checked."""
        if kept is not None:
            return kept
        from shipyard.storage.digests import digest_bytes

        data = file_content(file.path, entry.size)
        if digest_bytes(data) != entry.digest:
            raise ConflictError(f"{file.path!r} changed while it was being added; add it again")
        return data

    def _upload_each(
        self, files: Files, entries: Sequence[FileEntry], indexes: list[int], progress: Progress | None
    ) -> None:
        """Upload every file whose content the (remote) content store does not have."""
        content = self.content
        there = [False] * len(indexes)

        def check(k: int) -> None:
            there[k] = content.exists(entries[indexes[k]].digest)

        run_chunked(range(len(indexes)), check)  # a request each: on a few threads
        missing = [i for i, ok in zip(indexes, there, strict=True) if not ok]
        if progress is not None:
            progress.start("upload", sum(entries[i].size for i in missing))

        def put(i: int) -> None:
            if content.put_file(Path(files[i].path)) != (entries[i].digest, entries[i].size):
                raise ConflictError(f"{files[i].path!r} changed while it was being added; add it again")
            if progress is not None:
                progress.advance("upload", entries[i].size)

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
        folders: list[FolderStat] = []
        scanned_ns = time.time_ns()
        files = scan_existing(source, folders) or scan_source(source)[1]  # a folder may now be empty
        latest = parse_ref(name).version is None  # only the latest version has a status file
        if self._unchanged_listing(version, files):
            if latest:
                self._save_status(version, files, folders, scanned_ns, held=True)
            return StatusReport(version.ref, str(source), [], [], [], len(files), 0)
        hashed = hash_files(
            [f.path for f in files],
            cache=self.stat_cache,
            root=source,
            stats=[f.fingerprint for f in files],
            save=False,
        )
        now = {f.logical: (d, size) for f, d, size in zip(files, hashed.digests, hashed.sizes, strict=True)}
        before = {e.path: (e.digest, e.size) for e in version.files}
        modified = sorted(p for p in now.keys() & before.keys() if now[p] != before[p])
        report = StatusReport(
            ref=version.ref,
            source_path=str(source),
            added=sorted(now.keys() - before.keys()),
            removed=sorted(before.keys() - now.keys()),
            modified=modified,
            unchanged_count=len(now.keys() & before.keys()) - len(modified),
            hashed=hashed.hashed,
        )
        manifest = version.digest if report.clean else None
        complete = remember(
            self.stat_cache, version.source_path, files, hashed, manifest, folder=source.is_dir()
        )
        if latest:
            self._save_status(version, files, folders, scanned_ns, complete and report.clean)
        return report

    def _unchanged_listing(self, version: DatasetVersion, files: Files) -> bool:
        """Whether the source's files have the very stats recorded when they held this version."""
        if self.stat_cache is None or not version.source_path:
            return False
        tree = self.stat_cache.find_source(version.source_path)
        return tree is not None and tree[0] == version.digest and tree[1] == source_listing(files)

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
            content.delete_many(orphans)  # each pack holding some is rewritten once
            content.delete_unindexed_packs()
            self._record("dataset.gc", None, {"deleted": len(orphans), "bytes": size})
        return GcReport(orphans, size, not dry_run, len(referenced), len(set(keep)))

    def _record(self, action: str, version: DatasetVersion | None, payload: Any) -> None:
        if self.audit is not None:
            from shipyard.core.actors import current_actor

            target = f"dataset:{version.ref}" if version is not None else "datasets"
            self.audit.record(current_actor(), action, target, payload)


def _profile(files: Files) -> tuple[dict[str, Any], int | None, dict[str, Any]]:
    """Schema, row count and profile of the tabular files (the other files are skipped there)."""
    from shipyard.tabular import TABULAR_SUFFIXES

    suffixes = tuple(TABULAR_SUFFIXES)  # what is_tabular checks, in one call per file
    tables = [(f.logical, Path(f.path)) for f in files if f.logical.lower().endswith(suffixes)]
    if not tables:  # nothing to profile: do not even load the SQL engine
        return {}, None, {}
    from shipyard.datasets.profile import profile_files

    schema, row_count, profile = profile_files(tables)
    return schema, row_count, profile
