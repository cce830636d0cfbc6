"""Validation results on a Shipyard server, over ``/api/v1/validation/results``.

The suite runs where the SDK runs (it reads the dataset version's files through
the server's content store); only the result is sent, and read back, here.
"""

from __future__ import annotations

from shipyard.client.http import HttpClient
from shipyard.validation.models import ValidationResult
from shipyard.validation.store.base import ValidationStore

RESULTS = "/api/v1/validation/results"


class RestValidationStore(ValidationStore):
    """A :class:`ValidationStore` whose results live on a Shipyard server."""

    def __init__(self, uri: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.uri = uri
        self.http = HttpClient(uri, token=token, timeout=timeout)

    def __repr__(self) -> str:
        return f"RestValidationStore({self.uri!r})"

    def save_result(self, result: ValidationResult) -> str:
        body = self.http.request("POST", RESULTS, json=result.to_dict())
        return str(body["id"])

    def list_results(
        self, dataset_version_id: str | None = None, suite_digest: str | None = None, limit: int = 100
    ) -> list[ValidationResult]:
        params = {"dataset_version_id": dataset_version_id, "suite_digest": suite_digest, "limit": limit}
        return [ValidationResult.from_dict(r) for r in self.http.request("GET", RESULTS, params=params)]

    def latest_result(self, dataset_version_id: str, suite_digest: str) -> ValidationResult | None:
        params = {"dataset_version_id": dataset_version_id, "suite_digest": suite_digest}
        found = self.http.request("GET", f"{RESULTS}/latest", params=params)
        return None if found is None else ValidationResult.from_dict(found)

    def close(self) -> None:
        self.http.close()
