"""Fixtures shared by the contract suites that run over REST."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server_process import running_server


@pytest.fixture(scope="module")
def rest_server(postgres_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server process on loopback over the session PostgreSQL database, one per module.

    Each test's ``store`` fixture also asks for ``postgres_uri``, which empties the tables first.
    """
    folder = tmp_path_factory.mktemp("rest-server")
    with running_server(postgres_database, folder / "artifacts", folder / "home") as url:
        yield url
