"""The ``shipyard`` command line: ``shipyard <domain> <verb>``, Rich tables, ``--json``.

The root app lives in :mod:`shipyard.cli.main`; one module per command group.
Nothing heavy is imported until a command runs: ``shipyard --help`` touches no
disk and loads neither pandas nor SQLAlchemy. The :class:`CliState` below carries
the global options (``--home``, ``--uri``) and builds the workspace on first use.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's, which the lean `data status` does not load
if TYPE_CHECKING:  # typer is imported by the commands, not here: see shipyard.cli.entry
    import typer

    from shipyard.core.config import Settings
    from shipyard.workspace import Workspace


class CliState:
    """Global options of one invocation and the workspace they describe, built lazily."""

    def __init__(self, home: str | None = None, uri: str | None = None) -> None:
        self.home = home
        self.uri = uri
        self._settings: Settings | None = None
        self._workspace: Workspace | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from shipyard.core.config import load_settings

            self._settings = load_settings(home=self.home, uri=self.uri)
        return self._settings

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            from shipyard.workspace import Workspace

            self._workspace = Workspace(self.settings)
        return self._workspace

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None


def state(ctx: typer.Context) -> CliState:
    """The :class:`CliState` of this invocation (a default one when run without the root app)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
        root.call_on_close(root.obj.close)
    return root.obj


__all__ = ["CliState", "state"]
