"""The ``shipyard`` console script.

A plain ``shipyard data status`` or ``data add`` first tries the lean path of
:mod:`shipyard.cli.data_lean`, which loads neither Typer nor Rich (and, for a no-change
status, not SQLAlchemy either). Every other command, and whatever the lean path cannot
answer for sure, runs the Typer app of :mod:`shipyard.cli.main`, imported only then.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the ``shipyard`` console script."""
    argv = sys.argv[1:]
    if "data" in argv:
        from shipyard.cli.data_lean import run_lean

        code = run_lean(argv)
        if code is not None:
            raise SystemExit(code)
    from shipyard.cli.main import main as run_app

    run_app()


if __name__ == "__main__":  # pragma: no cover
    main()
