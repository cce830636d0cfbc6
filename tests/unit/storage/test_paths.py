"""Logical artifact paths: every unsafe spelling is refused, every safe one round-trips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.core.errors import InvalidInputError
from shipyard.storage.paths import MAX_PATH_LENGTH, check_artifact_path, walk_upload

BAD_PATHS = {
    "empty": ("", "empty"),
    "only dots and slashes": ("./", "names no file"),
    "parent segment": ("../x", "'..'"),
    "inner parent segment": ("a/../../b", "'..'"),
    "trailing parent segment": ("a/..", "'..'"),
    "absolute": ("/etc/passwd", "absolute"),
    "absolute double slash": ("//server/share", "absolute"),
    "drive letter": ("C:", "drive letter"),
    "drive letter with slash": ("C:/Windows", "drive letter"),
    "drive letter with backslash": ("c:\\x", "backslash"),
    "drive relative": ("d:file.txt", "drive letter"),
    "backslash": ("a\\b", "backslash"),
    "backslash traversal": ("..\\..\\x", "backslash"),
    "nul": ("a\x00b", "control"),
    "newline": ("a\nb", "control"),
    "tab": ("a\tb", "control"),
    "escape": ("a\x1b[31m", "control"),
    "delete": ("a\x7f", "control"),
    "c1 control": ("a\x85b", "control"),
    "encoded dot": ("%2e%2e/x", "URL-encoded"),
    "encoded dot upper": ("%2E%2E/x", "URL-encoded"),
    "encoded slash": ("a%2fb", "URL-encoded"),
    "encoded slash upper": ("a%2Fb", "URL-encoded"),
    "encoded backslash": ("a%5cb", "URL-encoded"),
    "encoded backslash upper": ("a%5Cb", "URL-encoded"),
    "encoded nul": ("a%00b", "URL-encoded"),
    "mixed encoded traversal": (".%2e/x", "URL-encoded"),
    "double encoded dot": ("%252e%252e/x", "URL-encoded"),
    "double encoded slash": ("a%252Fb", "URL-encoded"),
    "triple encoded dot": ("%25252e%25252e/x", "URL-encoded"),
    "home": ("~/x", "'~'"),
    "home of user": ("~root/.ssh/id_rsa", "'~'"),
    "too long": ("a/" * (MAX_PATH_LENGTH // 2) + "b", "over the limit"),
}


@pytest.mark.parametrize(("path", "reason"), BAD_PATHS.values(), ids=BAD_PATHS.keys())
def test_bad_path_is_rejected_with_a_reason_and_a_fix(path: str, reason: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_artifact_path(path)
    assert reason in info.value.message
    assert "use a relative path" in info.value.message


def test_non_string_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="must be a string"):
        check_artifact_path(b"a/b")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a", "a"),
        ("a/b.txt", "a/b.txt"),
        ("./a//b/./c/", "a/b/c"),
        ("..a/b..", "..a/b.."),
        ("a~/b", "a~/b"),
        ("100%/x%41", "100%/x%41"),
        ("modèle/données.csv", "modèle/données.csv"),
        ("a" * MAX_PATH_LENGTH, "a" * MAX_PATH_LENGTH),
    ],
)
def test_good_path_is_normalised(path: str, expected: str) -> None:
    assert check_artifact_path(path) == expected


SAFE_CHARS = st.characters(
    codec="utf-8", categories=("L", "N", "Zs", "P", "S"), exclude_characters="/\\%~:\x85"
)
safe_segment = st.text(SAFE_CHARS, min_size=1, max_size=12).filter(lambda s: s not in (".", ".."))


@given(st.lists(safe_segment, min_size=1, max_size=8))
def test_any_path_of_safe_segments_round_trips(segments: list[str]) -> None:
    path = "/".join(segments)
    assert check_artifact_path(path) == path


@given(
    st.lists(safe_segment, max_size=4),
    st.lists(safe_segment, max_size=4),
    st.sampled_from(["", "/", "./"]),
)
def test_any_path_with_a_parent_segment_is_rejected(before: list[str], after: list[str], lead: str) -> None:
    path = lead + "/".join([*before, "..", *after])
    with pytest.raises(InvalidInputError):
        check_artifact_path(path)


# -- walk_upload -------------------------------------------------------------------


def _tree(root: Path) -> Path:
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.bin").write_bytes(b"\x00\x01")
    (root / "sub" / "deep" / "c.txt").write_text("c")
    return root


def test_walk_upload_lists_every_file_with_its_logical_path(tmp_path: Path) -> None:
    root = _tree(tmp_path / "model")
    (root / "empty").mkdir()
    assert walk_upload(root) == [
        (root / "a.txt", "a.txt"),
        (root / "sub" / "b.bin", "sub/b.bin"),
        (root / "sub" / "deep" / "c.txt", "sub/deep/c.txt"),
    ]


def test_walk_upload_follows_symlinks_inside_the_folder(tmp_path: Path) -> None:
    root = _tree(tmp_path / "model")
    (root / "link.txt").symlink_to("sub/b.bin")
    (root / "linked_dir").symlink_to(root / "sub" / "deep", target_is_directory=True)
    logical = [name for _, name in walk_upload(root)]
    assert logical == ["a.txt", "link.txt", "linked_dir/c.txt", "sub/b.bin", "sub/deep/c.txt"]
    assert dict((name, p) for p, name in walk_upload(root))["link.txt"].read_bytes() == b"\x00\x01"


@pytest.mark.parametrize("target", ["file", "dir", "relative escape"])
def test_walk_upload_rejects_a_symlink_leading_outside(tmp_path: Path, target: str) -> None:
    root = _tree(tmp_path / "model")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key").write_text("s3cret")
    if target == "file":
        (root / "sub" / "leak").symlink_to(secret / "key")
    elif target == "dir":
        (root / "leak").symlink_to(secret, target_is_directory=True)
    else:
        (root / "sub" / "leak").symlink_to(Path("..", "..", "secret", "key"))
    with pytest.raises(InvalidInputError, match="outside the folder being uploaded"):
        walk_upload(root)


def test_walk_upload_rejects_broken_links_and_loops(tmp_path: Path) -> None:
    root = _tree(tmp_path / "broken")
    (root / "dangling").symlink_to(root / "nowhere")
    with pytest.raises(InvalidInputError, match="broken"):
        walk_upload(root)
    root = _tree(tmp_path / "loop")
    (root / "sub" / "again").symlink_to(root, target_is_directory=True)
    with pytest.raises(InvalidInputError, match="loop"):
        walk_upload(root)


def test_walk_upload_rejects_special_files_and_bad_names(tmp_path: Path) -> None:
    root = _tree(tmp_path / "fifo")
    os.mkfifo(root / "pipe")
    with pytest.raises(InvalidInputError, match="not a regular file"):
        walk_upload(root)
    root = _tree(tmp_path / "names")
    (root / "a\\b").write_text("x")
    with pytest.raises(InvalidInputError, match="backslash"):
        walk_upload(root)


def test_walk_upload_needs_a_folder(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(InvalidInputError, match="not a folder"):
        walk_upload(tmp_path / "f")
    with pytest.raises(InvalidInputError, match="not a folder"):
        walk_upload(tmp_path / "missing")
