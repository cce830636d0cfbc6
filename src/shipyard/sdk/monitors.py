"""``sy.monitor``: watch a deployment against a reference, with checks and actions.

>>> import shipyard as sy
>>> sy.monitor.__module__
'shipyard.sdk.monitors'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shipyard.workspace import current_workspace

if TYPE_CHECKING:
    from shipyard.monitoring.monitor_models import ActionSpec, CheckSpec, Monitor

__all__ = ["monitor"]


def monitor(
    name: str,
    deployment: str,
    reference: Any = None,
    window: str | int = "1h",
    checks: Sequence[CheckSpec] = (),
    actions: Sequence[ActionSpec] = (),
    cooldown: str | int = "1h",
) -> Monitor:
    """Create (or version, when its spec changed) the monitor ``name`` of ``deployment``.

    ``reference`` is a dataset reference (``"transactions@3"``) or a DataFrame (kept as
    Parquet in the artifact store); ``window`` a duration (``"1h"``) or a number of
    predictions; ``checks`` from ``sy.checks``, ``actions`` from ``sy.actions``;
    ``cooldown``: an alert of a check that fired less than this long ago is re-opened,
    not fired again. Run it with ``shipyard monitors run NAME`` or let ``shipyard
    scheduler`` run it every window. With ``SHIPYARD_URI=http(s)://...`` the server checks,
    keeps and runs it (a DataFrame reference is uploaded to its artifact store first).
    A notify webhook is shown redacted; ``webhook="env:NAME"`` keeps it out of the spec.
    """
    return current_workspace().monitors.create(name, deployment, reference, window, checks, actions, cooldown)
