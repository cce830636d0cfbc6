"""The pipeline store contract on memory, SQLite and a real PostgreSQL server."""

from __future__ import annotations

import pytest

from shipyard.pipelines.store.base import PipelineStore
from shipyard.pipelines.store.memory import MemoryPipelineStore
from shipyard.pipelines.store.sql import SqlPipelineStore

from .pipeline_contract import PipelineStoreContract


class TestMemoryPipelineStore(PipelineStoreContract):
    @pytest.fixture
    def store(self) -> PipelineStore:
        return MemoryPipelineStore()


class TestSqlitePipelineStore(PipelineStoreContract):
    @pytest.fixture
    def store(self, sqlite_uri: str) -> PipelineStore:
        return SqlPipelineStore(sqlite_uri)


@pytest.mark.postgres
class TestPostgresPipelineStore(PipelineStoreContract):
    @pytest.fixture
    def store(self, postgres_uri: str) -> PipelineStore:
        return SqlPipelineStore(postgres_uri)
