"""The contract of a study store: Optuna's journal backend (an ordered log of every change to
every study), which :class:`optuna.storages.JournalStorage` replays.

A backend must number the logs 0, 1, 2... with no gap, in the order they were appended,
and must let several processes append at once (trials on Ray report from their workers).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from typing import Any

from optuna.storages.journal import BaseJournalBackend


class JournalStore(BaseJournalBackend):
    """An Optuna journal backend that Shipyard opens by URI."""

    @abstractmethod
    def read_logs(self, log_number_from: int) -> Iterable[dict[str, Any]]:
        """The logs numbered ``log_number_from`` and after, in order."""

    @abstractmethod
    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        """Append ``logs`` after every log already stored, atomically."""

    def close(self) -> None:  # optional hook
        """Release connections."""
