"""The ``shipyard`` console script.

``shipyard data status`` first tries the lean path of :mod:`shipyard.cli.data_status`,
which answers the no-change case without loading Typer, Rich or SQLAlchemy. Every other
command, and a status that finds a change or cannot be sure, runs the Typer app of
:mod:`shipyard.cli.main`, imported only then.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the ``shipyard`` console script."""
    argv = sys.argv[1:]
    if "status" in argv and "data" in argv:
        from shipyard.cli.data_status import run_lean

        code = run_lean(argv)
        if code is not None:
            raise SystemExit(code)
    from shipyard.cli.main import main as run_app

    run_app()


if __name__ == "__main__":  # pragma: no cover
    main()
