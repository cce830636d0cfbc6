"""Settings precedence: argument > environment > config.toml > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.core.config import SETTINGS, Settings, find_home, load_settings
from shipyard.core.errors import InvalidInputError


def test_defaults_live_inside_the_home(tmp_path: Path) -> None:
    settings = load_settings(environ={}, home=str(tmp_path / ".shipyard"))
    assert settings.uri == f"sqlite:///{tmp_path / '.shipyard' / 'shipyard.db'}"
    assert settings.artifacts_uri == str(tmp_path / ".shipyard" / "artifacts")
    assert settings.metric_flush_interval_ms == 100
    assert not (tmp_path / ".shipyard").exists(), "resolving settings must not touch the disk"


def test_home_is_found_walking_up(tmp_path: Path) -> None:
    (tmp_path / ".shipyard").mkdir()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_home(deep) == tmp_path / ".shipyard"


def test_without_a_home_anywhere_the_working_directory_gets_one(tmp_path: Path) -> None:
    assert find_home(tmp_path) == tmp_path / ".shipyard"


def test_precedence(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir()
    (home / "config.toml").write_text('uri = "sqlite:///from-file.db"\nmetric_batch_size = 7\n')
    env = {"SHIPYARD_HOME": str(home), "SHIPYARD_URI": "sqlite:///from-env.db"}
    assert load_settings(environ=env).uri == "sqlite:///from-env.db"
    assert load_settings(environ=env).metric_batch_size == 7
    assert load_settings(environ=env, uri="sqlite:///arg.db").uri == "sqlite:///arg.db"
    assert load_settings(environ={"SHIPYARD_HOME": str(home)}).uri == "sqlite:///from-file.db"


def test_bad_values_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="SHIPYARD_METRIC_BATCH_SIZE"):
        load_settings(environ={"SHIPYARD_METRIC_BATCH_SIZE": "lots"}, home=str(tmp_path))
    with pytest.raises(InvalidInputError, match="unknown setting"):
        load_settings(environ={}, home=str(tmp_path), colour="blue")


def test_unknown_keys_in_config_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('urii = "typo"\n')
    with pytest.raises(InvalidInputError, match="urii"):
        load_settings(environ={}, home=str(tmp_path))


def test_every_setting_is_declared_once_and_matches_the_dataclass() -> None:
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    assert set(names) == set(Settings.__dataclass_fields__)
    assert all(s.env.startswith("SHIPYARD_") and s.doc for s in SETTINGS)


def test_remote_mode_is_chosen_by_scheme(tmp_path: Path) -> None:
    assert load_settings(environ={}, home=str(tmp_path), uri="http://localhost:8080").is_remote
    assert not load_settings(environ={}, home=str(tmp_path)).is_remote
