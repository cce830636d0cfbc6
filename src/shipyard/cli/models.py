"""``shipyard models``: register, inspect, promote through gates, approve, describe, model cards.

A version is named ``NAME@V``, ``NAME:V`` or ``NAME@ALIAS`` (``models:/NAME/V`` works too).
In remote mode (``SHIPYARD_URI=http://...``) every command goes to the server, which
checks the token's role and runs the gates. A promotion refused by a gate prints the
report of every gate (gate, passed, observed, required) and exits with code 7
(``--json``: the error and the report as one document on stdout).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from shipyard.cli import state
from shipyard.cli.models_render import (
    approval_doc,
    change_doc,
    evaluation_doc,
    model_doc,
    policy_doc,
    print_change,
    print_history,
    print_model,
    print_models,
    print_report,
    print_version,
    version_doc,
)
from shipyard.cli.output import GATE_FAILED, JsonFlag, add_row, error, make_table, print_json, print_table
from shipyard.core.errors import GateFailed, InvalidInputError
from shipyard.registry.models import RegisteredModel

if TYPE_CHECKING:
    from shipyard.registry.models import ModelVersion
    from shipyard.registry.service import RegistryService
    from shipyard.workspace import Workspace

app = typer.Typer(
    help="The model registry: versions, aliases, gates, approvals, cards.", no_args_is_help=True
)

VersionRef = Annotated[str, typer.Argument(metavar="NAME@V", help="A version: NAME@V, NAME:V or NAME@ALIAS.")]
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The registered model's name.")]
NumberArg = Annotated[int, typer.Argument(metavar="V", help="The version number.")]
AliasOpt = Annotated[str, typer.Option("--alias", "-a", metavar="ALIAS", help="The alias, e.g. production.")]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", "-r", metavar="TEXT", help="Why (kept in the history).")
]


def _registry(ctx: typer.Context) -> RegistryService:
    return state(ctx).workspace.registry


@app.command("list")
def list_command(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Registered models with their latest version and aliases."""
    registry = _registry(ctx)
    models = registry.list_models(limit=100_000)
    aliases = {m.name: registry.aliases(m.name) for m in models}
    if as_json:
        print_json([model_doc(m, aliases[m.name]) for m in models])
    else:
        print_models(models, aliases)


@app.command("show")
def show_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[@V]", help="A model, or one version (NAME@V, NAME:V).")],
    as_json: JsonFlag = False,
) -> None:
    """A model and its versions, or one version with its evaluations and approvals."""
    registry = _registry(ctx)
    if "@" not in ref and ":" not in ref:
        model, versions, aliases = registry.get_model(ref), registry.list_versions(ref), registry.aliases(ref)
        if as_json:
            print_json({**model_doc(model, aliases), "versions": [version_doc(v, aliases) for v in versions]})
        else:
            print_model(model, versions, aliases)
        return
    version = registry.resolve(ref)
    aliases = registry.aliases(version.name)
    evaluations = registry.list_evaluations(version.name, version.version)
    approvals = registry.list_approvals(version.name, version.version)
    if as_json:
        doc = version_doc(version, aliases)
        doc["evaluations"] = [evaluation_doc(e) for e in evaluations]
        doc["approvals"] = [approval_doc(a) for a in approvals]
        print_json(doc)
    else:
        print_version(version, aliases, evaluations, approvals)


@app.command("register")
def register_command(
    ctx: typer.Context,
    name: NameArg,
    model_uri: Annotated[str, typer.Argument(metavar="MODEL_URI", help="runs:/<run_id>/model or NAME@V.")],
    description: Annotated[str | None, typer.Option("--description", "-d", metavar="TEXT")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register the package at MODEL_URI as the next version of NAME, with its lineage."""
    version = _registry(ctx).register(name, model_uri, description)
    if as_json:
        print_json(version_doc(version))
    else:
        typer.secho(f"registered {version.uri} ({version.flavor}, run {version.run_id})", fg="green")


@app.command("promote")
def promote_command(
    ctx: typer.Context,
    name: NameArg,
    version: NumberArg,
    alias: AliasOpt,
    reason: ReasonOpt = None,
    override: Annotated[
        bool, typer.Option("--override", help="Move it despite failed gates (admins only; needs --reason).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Point ALIAS at version V if every gate of the alias's policy passes (exit 7 otherwise)."""
    try:
        change = _registry(ctx).promote(name, version, alias, reason=reason, override=override)
    except GateFailed as exc:
        _refused(exc, as_json)
    if as_json:
        print_json(change_doc(change))
    else:
        print_change(change)


def _refused(exc: GateFailed, as_json: bool) -> NoReturn:
    """Print the report of a refused promotion, then exit with the gate-failure code."""
    report = exc.details.get("report") or {"passed": False, "results": []}
    if as_json:
        print_json({**exc.to_dict(), "report": report})
    else:
        d = exc.details
        print_report(report, f"Gates of {d.get('name')}@{d.get('alias')} for version {d.get('version')}")
    error(exc.message, GATE_FAILED)


@app.command("rollback")
def rollback_command(
    ctx: typer.Context, name: NameArg, alias: AliasOpt, reason: ReasonOpt = None, as_json: JsonFlag = False
) -> None:
    """Move ALIAS back to the version that held it before the current one."""
    change = _registry(ctx).rollback(name, alias, reason=reason)
    if as_json:
        print_json(change_doc(change))
    else:
        print_change(change)


@app.command("history")
def history_command(
    ctx: typer.Context,
    name: NameArg,
    alias: Annotated[
        str | None, typer.Option("--alias", "-a", metavar="ALIAS", help="One alias (default: all).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every change of an alias: from, to, action, who, when, why, and the gate verdict."""
    changes = _registry(ctx).history(name, alias)
    if as_json:
        print_json([change_doc(c) for c in changes])
    else:
        print_history(changes, f"History of {name}@{alias}" if alias else f"History of {name}")


@app.command("approve")
def approve_command(
    ctx: typer.Context,
    name: NameArg,
    version: NumberArg,
    alias: AliasOpt,
    comment: Annotated[str | None, typer.Option("--comment", "-c", metavar="TEXT")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Approve version V for ALIAS (approvers and admins; never the version's author)."""
    approval = _registry(ctx).approve(name, version, alias, comment)
    if as_json:
        print_json(approval_doc(approval))
    else:
        typer.secho(f"{approval.user} ({approval.role}) approved {name}:{version} for {alias}", fg="green")


@app.command("policy")
def policy_command(
    ctx: typer.Context,
    name: NameArg,
    alias: AliasOpt,
    set_file: Annotated[
        Path | None, typer.Option("--set", metavar="GATES.yaml", help="Replace the gates (admins only).")
    ] = None,
    show: Annotated[bool, typer.Option("--show", help="Show the gates (the default).")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show the gates of ALIAS, or replace them with those of a YAML file."""
    from shipyard.registry.policy_file import load_policy_file, short_form

    registry = _registry(ctx)
    if set_file is not None and show:
        raise InvalidInputError("give --set FILE or --show, not both")
    policy = (
        registry.set_policy(name, alias, load_policy_file(set_file))
        if set_file is not None
        else registry.get_policy(name, alias)
    )
    if as_json:
        print_json(None if policy is None else policy_doc(policy))
        return
    if policy is None:
        typer.echo(f"{name}@{alias} has no policy: any version may be promoted")
        return
    import yaml

    from shipyard.registry.gates import describe

    table = make_table("#", "gate", "as written")
    for number, gate in enumerate(policy.gates, start=1):
        written = yaml.safe_dump(short_form(gate), default_flow_style=True, sort_keys=False).strip()
        add_row(table, str(number), describe(gate), written)
    verb = "set" if set_file is not None else "has"
    print_table(table, f"{name}@{alias} {verb} {len(policy.gates)} gate(s) (by {policy.updated_by})")


@app.command("card")
def card_command(
    ctx: typer.Context,
    ref: VersionRef,
    html: Annotated[
        bool, typer.Option("--html", help="One self-contained HTML page (plots embedded).")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write it to FILE.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The model card of a version: description, intended use, data, evaluations, approvals, history."""
    if html and as_json:
        raise InvalidInputError("give --html or --json, not both")
    text = card_text(state(ctx).workspace, ref, "json" if as_json else ("html" if html else "md"))
    if output is None:
        typer.echo(text)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}")


def card_text(workspace: Workspace, ref: str, fmt: str) -> str:
    """The rendered card: by the server in remote mode, else built here."""
    registry: Any = workspace.registry
    version = registry.resolve(ref)
    if workspace.settings.is_remote:
        return str(registry.card(version.name, version.version, fmt))
    from shipyard.registry.card_records import gather_card, render_card

    content = workspace.content if fmt == "html" else None
    card = gather_card(
        registry, version.name, version.version, validation=workspace.validation, content=content
    )
    return render_card(card, fmt)


@app.command("describe")
def describe_command(
    ctx: typer.Context,
    name: NameArg,
    version: Annotated[
        int | None, typer.Option("--version", "-v", metavar="V", help="Describe this version.")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", "-d", metavar="TEXT")] = None,
    fields: Annotated[
        list[str] | None,
        typer.Option("--field", "-f", metavar="KEY=VALUE", help="A model-card field (KEY= removes it)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Set the description of a model (or of one version) and its model-card fields."""
    registry = _registry(ctx)
    parsed = parse_fields(fields or [])
    if version is not None and description is None:  # keep the version's description
        description = registry.get_version(name, version).description
    described = registry.describe(name, version, description, parsed or None)
    if as_json:
        print_json(model_doc(described) if isinstance(described, RegisteredModel) else version_doc(described))
    else:
        what = f"{name}:{version}" if version is not None else name
        typer.secho(f"described {what}" + (f" ({', '.join(parsed)})" if parsed else ""), fg="green")


def parse_fields(items: list[str]) -> dict[str, str | None]:
    """``KEY=VALUE`` options as a mapping; ``KEY=`` removes the field.

    >>> parse_fields(["intended_use=Rank accounts", "caveats="])
    {'intended_use': 'Rank accounts', 'caveats': None}
    """
    parsed: dict[str, str | None] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--field takes KEY=VALUE (KEY= removes it), got {item!r}")
        parsed[key.strip()] = value if value else None
    return parsed


@app.command("export-onnx")
def export_onnx_command(
    ctx: typer.Context,
    ref: VersionRef,
    run: Annotated[
        str | None,
        typer.Option("--run", metavar="RUN_ID", help="Log it in this run (default: the version's)."),
    ] = None,
    name: Annotated[
        str, typer.Option("--name", metavar="PATH", help="Package name in the run.")
    ] = "model-onnx",
    register: Annotated[bool, typer.Option("--register", help="Register it as the next version.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Convert a scikit-learn version to ONNX (skl2onnx), logged as a new package."""
    workspace = state(ctx).workspace
    source: ModelVersion = workspace.registry.resolve(ref)
    uri = workspace.models.export_onnx(source.model_uri, run or source.run_id, name)
    registered = None
    if register:
        registered = workspace.registry.register(source.name, uri, description=f"ONNX export of {source.uri}")
    if as_json:
        print_json({"model_uri": uri, "source": version_doc(source),
                    "registered": None if registered is None else version_doc(registered)})  # fmt: skip
        return
    typer.secho(f"exported {source.uri} to {uri}", fg="green")
    if registered is not None:
        typer.secho(f"registered {registered.uri}", fg="green")
