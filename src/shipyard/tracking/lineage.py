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
    """Commit, branch, dirty flag and a digest of the uncommitted diff; empty outside a git repo.

    One ``git status`` call, plus ``git diff`` when the tree is dirty.
    """
    here = (cwd or Path.cwd()).resolve()
    status = _git(["status", "--porcelain=v2", "--branch", "--untracked-files=no"], here)
    if status is None:
        return {}
    lines = status.decode(errors="replace").splitlines()
    header = dict(line[2:].split(" ", 1) for line in lines if line.startswith("# ") and " " in line[2:])
    dirty = any(not line.startswith("#") for line in lines)
    diff = _git(["diff", "HEAD", "--no-ext-diff"], here) if dirty else None
    commit = header.get("branch.oid", "")
    return {
        "commit": None if commit == "(initial)" else commit,
        "branch": header.get("branch.head"),
        "dirty": dirty,
        "diff_digest": "sha256:" + hashlib.sha256(diff or b"").hexdigest() if dirty else None,
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
