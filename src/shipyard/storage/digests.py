"""Content digests: BLAKE3, spelled ``"blake3:<64 hex>"``.

>>> digest_bytes(b"abc")
'blake3:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85'
>>> check_digest("blake3:" + "0" * 64) == "blake3:" + "0" * 64
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from blake3 import blake3

from shipyard.core.errors import InvalidInputError, NotFoundError

ALGORITHM = "blake3"
PREFIX = f"{ALGORITHM}:"
_DIGEST = re.compile(r"blake3:[0-9a-f]{64}")
# Below this size a plain read is faster than mapping the file and starting threads.
MMAP_THRESHOLD = 4 * 1024 * 1024
_CHUNK = 1024 * 1024


def digest_bytes(data: bytes) -> str:
    """The digest of ``data``."""
    return PREFIX + blake3(data).hexdigest()


def digest_file(path: Path | str) -> str:
    """The digest of the file at ``path``, streamed; big files are hashed on all cores via mmap."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size >= MMAP_THRESHOLD:
            return PREFIX + blake3(max_threads=blake3.AUTO).update_mmap(path).hexdigest()
        hasher = blake3()
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                hasher.update(chunk)
        return PREFIX + hasher.hexdigest()
    except FileNotFoundError as exc:
        raise NotFoundError(f"cannot hash {str(path)!r}: no such file") from exc
    except IsADirectoryError as exc:
        raise InvalidInputError(f"cannot hash {str(path)!r}: it is a folder, not a file") from exc


def check_digest(digest: str) -> str:
    """Return ``digest`` if it is spelled ``blake3:<64 lowercase hex>``, else raise InvalidInputError.

    >>> check_digest("sha256:abc")
    Traceback (most recent call last):
    ...
    shipyard.core.errors.InvalidInputError: invalid digest 'sha256:abc': expected 'blake3:' followed by \
64 lowercase hex characters
    """
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InvalidInputError(
            f"invalid digest {digest!r}: expected 'blake3:' followed by 64 lowercase hex characters"
        )
    return digest


_DIGEST_LINES = re.compile(r"(?:blake3:[0-9a-f]{64}\n)*")


def check_digests(digests: Sequence[str]) -> list[str]:
    """:func:`check_digest` of many digests at once (one scan when all are well spelled).

    >>> check_digests(["blake3:" + "0" * 64]) == ["blake3:" + "0" * 64]
    True
    """
    try:
        lines = "\n".join(digests) + "\n" if digests else ""
        if lines.count("\n") == len(digests) and _DIGEST_LINES.fullmatch(lines):  # no digest holds a newline
            return list(digests)
    except TypeError:  # not all strings
        pass
    return [check_digest(d) for d in digests]
