"""The lean ``data status`` / ``data add`` of the console script, as real processes, against Typer's.

Each command runs twice: through the console script (``shipyard``, which tries the lean
path first) and through the Typer app alone (``python -m shipyard.cli.main``); both must
print the same bytes and exit with the same code. The lean runs must not import the
heavy modules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.cli.data_lean import run_lean

SCRIPT = str(Path(sys.executable).with_name("shipyard"))
HEAVY = ("typer", "rich", "pydantic", "sqlalchemy", "pandas", "duckdb", "pyarrow")
PROBE = """
import sys
sys.argv = ["shipyard", *sys.argv[1:]]
from shipyard.cli.entry import main
try:
    main()
finally:
    print("HEAVY=" + ",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    past = time.time() - 60  # out of the stat cache's racy window
    os.utime(path, (past, past))


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, check=False, timeout=120)


def both(
    args: list[str], env: dict[str, str], cwd: Path
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``shipyard ARGS`` the lean way and the Typer way, check they agree; the lean run's imports."""
    lean = run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], env, cwd)
    typer_run = run([sys.executable, "-m", "shipyard.cli.main", *args], env, cwd)
    heavy = lean.stderr.rsplit("HEAVY=", 1)[1].strip()
    stderr = lean.stderr.rsplit("HEAVY=", 1)[0]
    assert (lean.returncode, lean.stdout, stderr) == (
        typer_run.returncode,
        typer_run.stdout,
        typer_run.stderr,
    )
    return typer_run, set(heavy.split(",")) - {""}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE", "FORCE_TERMINAL"):
        clean.pop(var, None)
    return {**clean, "SHIPYARD_HOME": str(tmp_path / ".shipyard"), "SHIPYARD_CAPTURE_PACKAGES": "false"}


def make_data(root: Path) -> Path:
    write(root / "train.csv", "id,amount\n1,10.0\n2,20.0\n")
    write(root / "notes/readme.txt", "hello")
    return root


def test_status_prints_the_same_and_loads_nothing_heavy_when_nothing_changed(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert run([SCRIPT, "init"], env, tmp_path).returncode == 0
    data = make_data(tmp_path / "data")
    assert run([SCRIPT, "data", "add", str(data), "--name", "sales"], env, tmp_path).returncode == 0
    write(tmp_path / "one.txt", "one")
    assert run([SCRIPT, "data", "add", "one.txt", "-n", "one"], env, tmp_path).returncode == 0
    for args in (
        ["data", "status", "sales"],
        ["data", "status"],
        ["data", "status", "--json"],
        ["data", "status", "--json", "one"],
        ["--home", env["SHIPYARD_HOME"], "data", "status", "sales"],
    ):
        done, heavy = both(args, env, tmp_path)
        assert done.returncode == 0
        assert "up to date" in done.stdout or '"clean": true' in done.stdout
        assert heavy == set(), f"{args} imported {heavy}"
    doc = json.loads(both(["data", "status", "--json"], env, tmp_path)[0].stdout)
    assert [(d["ref"], d["clean"], d["unchanged_count"]) for d in doc["datasets"]] == [
        ("one@1", True, 1),
        ("sales@1", True, 2),
    ]


def test_status_of_a_change_or_an_error_is_the_typer_commands(env: dict[str, str], tmp_path: Path) -> None:
    data = make_data(tmp_path / "data")
    assert run([SCRIPT, "data", "add", str(data), "--name", "sales"], env, tmp_path).returncode == 0
    write(data / "train.csv", "id,amount\n1,10.0\n2,99.0\n")
    done, heavy = both(["data", "status", "sales"], env, tmp_path)
    assert "modified: train.csv" in done.stdout and "typer" in heavy
    missing, _ = both(["data", "status", "nope"], env, tmp_path)
    assert missing.returncode == 3 and "nope" in missing.stderr


def test_add_prints_the_same_as_the_typer_command(env: dict[str, str], tmp_path: Path) -> None:
    data = make_data(tmp_path / "data")
    lean_env = {**env, "SHIPYARD_HOME": str(tmp_path / "lean")}
    typer_env = {**env, "SHIPYARD_HOME": str(tmp_path / "typer")}
    for args in (
        ["data", "add", str(data), "--name", "sales", "-m", "first"],
        ["data", "add", str(data), "--name=sales"],  # unchanged
    ):
        lean = run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], lean_env, tmp_path)
        typer_run = run([sys.executable, "-m", "shipyard.cli.main", *args], typer_env, tmp_path)
        assert (lean.returncode, lean.stdout) == (typer_run.returncode, typer_run.stdout)
        assert not {"typer", "rich", "pydantic"} & set(lean.stderr.rsplit("HEAVY=", 1)[1].strip().split(","))
    write(data / "extra.txt", "more")
    args = ["data", "add", str(data), "--json", "--name", "sales"]
    lean_doc = json.loads(run([SCRIPT, *args], lean_env, tmp_path).stdout)
    typer_doc = json.loads(
        run([sys.executable, "-m", "shipyard.cli.main", *args], typer_env, tmp_path).stdout
    )
    volatile = {"id", "created_at", "created_at_ms"}
    assert lean_doc.keys() == typer_doc.keys() and lean_doc["created"] is True and lean_doc["version"] == 2
    assert {k: v for k, v in lean_doc.items() if k not in volatile} == {
        k: v for k, v in typer_doc.items() if k not in volatile
    }


def test_add_to_an_initialised_home_writes_without_sqlalchemy_what_the_typer_command_reads(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert run([SCRIPT, "init"], env, tmp_path).returncode == 0
    data = make_data(tmp_path / "data")
    probe = [sys.executable, "-c", PROBE.format(heavy=("sqlalchemy", "alembic", "typer", "rich", "pydantic"))]
    for args in (
        ["data", "add", str(data), "--name", "sales", "-m", "first"],
        ["data", "add", "data", "-n", "sales"],
    ):
        lean = run([*probe, *args], env, tmp_path)
        assert lean.returncode == 0, lean.stderr
        assert lean.stderr.rsplit("HEAVY=", 1)[1].strip() == ""  # plain sqlite3: no SQLAlchemy, no Alembic
    write(data / "extra.txt", "more")
    assert "added sales@2" in run([*probe, "data", "add", "data", "-n", "sales"], env, tmp_path).stdout
    for ref, expected in (("sales@1", (1, "first", 2)), ("sales", (2, None, 3))):
        shown = json.loads(run([SCRIPT, "data", "show", ref, "--json"], env, tmp_path).stdout)
        assert (shown["version"], shown["message"], shown["file_count"]) == expected
    verified = run([SCRIPT, "audit", "verify"], env, tmp_path)
    assert verified.returncode == 0 and "intact" in verified.stdout
    events = run([SCRIPT, "audit", "list", "--json"], env, tmp_path).stdout
    assert events.count('"dataset.add"') == 2


def test_add_errors_are_reported_as_by_the_typer_command(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for args in (["data", "add", "nope", "--name", "x"], ["data", "add", "empty", "--name", "x"]):
        done, _ = both(args, env, tmp_path)
        assert done.returncode == 2 and done.stderr.startswith("error: ")


@pytest.mark.parametrize(
    "argv",
    [
        ["data", "status", "--help"],
        ["data", "status", "a", "b"],
        ["data", "list"],
        ["data", "add", "path"],
        ["data", "add", "path", "--name", "n", "--bogus"],
        ["data", "add", "path", "--name", "n", "--name", "m"],
        ["data", "add", "a", "b", "--name", "n"],
        ["--home"],
        ["--verbose", "data", "status"],
        ["runs", "list"],
    ],
)
def test_anything_but_the_plain_forms_goes_to_typer(argv: list[str]) -> None:
    assert run_lean(argv) is None


homes = st.sampled_from([None, "", "h1", "sub/../h2", "~/shipyard-test-home", "ABS"])
uris = st.sampled_from([None, "", "sqlite:///x.db", "sqlite:////tmp/y.db", "postgresql+psycopg://u@h/db"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    option_home=homes,
    env_home=homes,
    option_uri=uris,
    env_uri=uris,
    found=st.booleans(),
    config=st.sampled_from([None, "", 'uri = "sqlite:///from-config.db"\n']),
)
def test_the_lean_status_resolves_home_and_uri_as_the_settings_do(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    option_home: str | None,
    env_home: str | None,
    option_uri: str | None,
    env_uri: str | None,
    found: bool,
    config: str | None,
) -> None:
    from shipyard.cli.data_lean import home_and_uri
    from shipyard.core.config import load_settings

    def spelled(home: str | None) -> str | None:
        return str(tmp_path / "abs-home") if home == "ABS" else home

    work = tmp_path / "project" / "deeper"
    work.mkdir(parents=True, exist_ok=True)
    found_home = tmp_path / "project" / ".shipyard"
    if found:
        found_home.mkdir(exist_ok=True)
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))  # where "~" leads
    for var, value in (("SHIPYARD_HOME", spelled(env_home)), ("SHIPYARD_URI", env_uri)):
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value)
    options = {k: v for k, v in (("home", spelled(option_home)), ("uri", option_uri)) if v is not None}
    expected = load_settings(home=options.get("home"), uri=options.get("uri"))
    if config is not None:
        expected.home.mkdir(parents=True, exist_ok=True)
        (expected.home / "config.toml").write_text(config)
        expected = load_settings(home=options.get("home"), uri=options.get("uri"))
    try:
        assert home_and_uri(options) == (str(expected.home), expected.uri)
    finally:
        (expected.home / "config.toml").unlink(missing_ok=True)
        if found_home.exists():
            found_home.rmdir()
