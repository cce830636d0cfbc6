"""What a run came from: code commit, environment, host, user, command line."""

from __future__ import annotations

import functools
import getpass
import hashlib
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any


def _git(args: list[str], cwd: Path) -> bytes | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def git_lineage(cwd: Path | None = None) -> dict[str, Any]:
    """Commit, dirty flag and a digest of the uncommitted diff; empty outside a git repo."""
    here = cwd or Path.cwd()
    commit = _git(["rev-parse", "HEAD"], here)
    if commit is None:
        return {}
    status = _git(["status", "--porcelain", "--untracked-files=no"], here) or b""
    diff = _git(["diff", "HEAD", "--no-ext-diff"], here) or b""
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], here) or b""
    return {
        "commit": commit.decode().strip(),
        "branch": branch.decode().strip(),
        "dirty": bool(status.strip()),
        "diff_digest": "sha256:" + hashlib.sha256(diff).hexdigest() if status.strip() else None,
    }


@functools.cache
def installed_packages() -> tuple[list[str], str]:
    """Sorted ``name==version`` of the running environment and their SHA-256 digest."""
    found = {f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata["Name"]}
    packages = sorted(found, key=str.lower)
    return packages, "sha256:" + hashlib.sha256("\n".join(packages).encode()).hexdigest()


def capture_lineage(capture_packages: bool = True, cwd: Path | None = None) -> dict[str, Any]:
    """Everything recorded automatically with a new run."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    lineage: dict[str, Any] = {
        "git": git_lineage(cwd),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "user": user,
        "command": [sys.executable, *sys.argv],
    }
    if capture_packages:
        packages, digest = installed_packages()
        lineage["packages"] = packages
        lineage["packages_digest"] = digest
    return lineage
