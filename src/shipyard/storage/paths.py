"""Logical artifact paths: checked once, at the edge, so nothing can escape a store.

A logical path is a relative POSIX path such as ``model/weights.bin``. It is the
name a user sees and the key suffix a store writes under, so anything that could
climb out of a folder or mean something else on another OS is refused with a
message saying what was wrong and how to fix it.

>>> check_artifact_path("model//./weights.bin")
'model/weights.bin'
>>> check_artifact_path("../etc/passwd")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
shipyard.core.errors.InvalidInputError: artifact path '../etc/passwd' has a '..' segment; ...
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from shipyard.core.errors import InvalidInputError

MAX_PATH_LENGTH = 1024

_HINT = "use a relative path with '/' separators such as 'model/weights.bin'"
# %2e ('.'), %2f ('/'), %5c ('\'), %00 (NUL), also double-encoded as %252e, %25252e, ...
_ENCODED = re.compile(r"%(?:25)*(?:2e|2f|5c|00)", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:")


def _fail(path: str, what: str) -> InvalidInputError:
    shown = path if len(path) <= 80 else path[:77] + "..."
    return InvalidInputError(f"artifact path {shown!r} {what}; {_HINT}", details={"path": shown})


def _first_problem(path: str) -> str | None:
    """Why ``path`` is refused, or ``None``; checks run from most to least specific."""
    if len(path) > MAX_PATH_LENGTH:
        return f"is {len(path)} characters long, over the limit of {MAX_PATH_LENGTH}"
    if any(unicodedata.category(ch) == "Cc" for ch in path):
        return "contains a NUL or control character"
    if "\\" in path:
        return "contains a backslash; separators must be '/'"
    if _ENCODED.search(path):
        return "contains a URL-encoded '.', '/', '\\' or NUL (such as %2e or %2f); decode it first"
    if _DRIVE.match(path):
        return "starts with a Windows drive letter"
    if path.startswith("/"):
        return "is absolute"
    if path.startswith("~"):
        return "starts with '~' (a home folder)"
    if ".." in path.split("/"):
        return "has a '..' segment"
    return None


def check_artifact_path(path: str) -> str:
    """Return ``path`` normalised (no empty or ``.`` segments) or raise :class:`InvalidInputError`.

    >>> check_artifact_path("./data/train.csv/")
    'data/train.csv'
    """
    if not isinstance(path, str):
        raise InvalidInputError(f"artifact path must be a string, got {type(path).__name__}; {_HINT}")
    problem = "is empty" if not path else _first_problem(path)
    if problem is not None:
        raise _fail(path, problem)
    normalised = "/".join(seg for seg in path.split("/") if seg not in ("", "."))
    if not normalised:
        raise _fail(path, "names no file (only '.' and '/')")
    return normalised


def walk_upload(local_root: Path) -> list[tuple[Path, str]]:
    """The files under ``local_root`` with their logical paths, sorted by logical path.

    Symlinks that resolve inside the folder are followed; one that resolves outside
    it, a broken one, a symlink loop, a special file (FIFO, socket, device) or a
    file name that is not a valid artifact path raise :class:`InvalidInputError`:
    nothing is skipped silently.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "sub").mkdir(), (Path(tmp) / "sub" / "a.txt").write_text("a")
    ...     [logical for _, logical in walk_upload(Path(tmp))]
    ['sub/a.txt']
    """
    root = Path(local_root)
    if not root.is_dir():
        raise InvalidInputError(f"{str(root)!r} is not a folder; give the folder whose files to upload")
    real_root = root.resolve()
    found: list[tuple[Path, str]] = []
    _walk(root, "", real_root, frozenset({real_root}), found)
    return sorted(found, key=lambda pair: pair[1])


def _walk(
    folder: Path, prefix: str, real_root: Path, ancestors: frozenset[Path], found: list[tuple[Path, str]]
) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise InvalidInputError(f"cannot list folder {str(folder)!r}: {exc}") from exc
    for entry in entries:
        path = Path(entry.path)
        logical = prefix + entry.name
        real = _resolve_inside(path, real_root) if entry.is_symlink() else path
        if entry.is_dir():  # follows a symlink already checked to stay inside
            real = real.resolve()
            if real in ancestors:
                raise InvalidInputError(f"symlink loop at {str(path)!r}; replace the link by a copy")
            _walk(path, logical + "/", real_root, ancestors | {real}, found)
        elif entry.is_file():
            found.append((path, check_artifact_path(logical)))
        else:
            raise InvalidInputError(
                f"{str(path)!r} is not a regular file (FIFO, socket or device); remove it"
            )


def _resolve_inside(link: Path, real_root: Path) -> Path:
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise InvalidInputError(f"symlink {str(link)!r} is broken or loops; fix or remove it") from exc
    if not target.is_relative_to(real_root):
        raise InvalidInputError(
            f"symlink {str(link)!r} points to {str(target)!r}, outside the folder being uploaded "
            f"{str(real_root)!r}; copy the target into the folder or upload it separately"
        )
    return target
