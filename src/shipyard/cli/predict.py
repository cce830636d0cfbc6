"""``shipyard predict``: score a Parquet file with a registered model, chunk by chunk, locally or on Ray.

The output keeps the input's key columns (``--keep``; by default every column that is
not a model input), adds ``prediction`` (and ``probabilities`` for classifiers) and
``model_version``, and records the version in the Parquet metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli import state
from shipyard.cli.output import JsonFlag, console, print_json

if TYPE_CHECKING:
    from shipyard.serving.batch import Progress


def predict_command(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Option("--model", "-m", metavar="MODEL", help="NAME@ALIAS, NAME:V or runs:/<run_id>/<path>."),
    ],
    input: Annotated[Path, typer.Option("--input", "-i", metavar="IN.parquet", help="The rows to score.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="OUT.parquet", help="Where to write.")],
    executor: Annotated[
        str,
        typer.Option("--executor", metavar="local|ray", help="Where chunks run (ray: RAY_ADDRESS or local)."),
    ] = "local",
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", metavar="N", help="Rows per chunk.", min=1)
    ] = 50_000,
    keep: Annotated[
        list[str] | None,
        typer.Option("--keep", metavar="COL", help="Input column to copy to the output (repeatable)."),
    ] = None,
    trust: Annotated[bool, typer.Option("--trust", help="Allow loading a pickled (pyfunc) package.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Score IN.parquet with MODEL into OUT.parquet, streaming it in chunks."""
    kept = None if keep is None else [c.strip() for item in keep for c in item.split(",") if c.strip()]
    serving = state(ctx).workspace.serving
    with _progress(not as_json) as progress:
        result = serving.predict_batch(
            model, input, output, executor=executor, chunk_size=chunk_size, keep=kept, progress=progress,
            trust=trust,
        )  # fmt: skip
    if as_json:
        print_json(
            {
                "output": str(result.output),
                "rows": result.rows,
                "chunks": result.chunks,
                "model_version": result.model_version,
                "model_uri": result.model_uri,
                "package_digest": result.package_digest,
                "columns": result.columns,
            }
        )
        return
    typer.secho(
        f"scored {result.rows} rows with {result.model_version} into {result.output} "
        f"({result.chunks} chunk{'' if result.chunks == 1 else 's'})",
        fg=typer.colors.GREEN,
    )


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress | None]:
    """A Rich progress bar over the rows scored, when stdout is a terminal."""
    out = console()
    if not enabled or not out.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=out
    ) as bar:
        task = bar.add_task("rows", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance
