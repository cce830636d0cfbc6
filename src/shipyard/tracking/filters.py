"""The filter language of ``search_runs`` and ``shipyard runs list --filter``.

Grammar (keywords case-insensitive)::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := atom ("and" atom)*
    atom       := "(" expr ")" | comparison
    comparison := ident op literal | ident ("in" | "not in") "(" literal ("," literal)* ")"
    ident      := entity "." key          entity: metrics|metric|params|param|tags|tag|attributes|attribute|attr
    key        := [A-Za-z0-9_\-./:]+ | `any text` | "any text"
    op         := = | == | != | <> | < | <= | > | >= | like | ilike
    literal    := number | 'string' | "string"

    order_by   := ident ["asc" | "desc"]

>>> parse_filter("metrics.auc > 0.9 and params.model = 'rf'")
And(items=(Comparison(entity='metrics', key='auc', op='>', value=0.9), Comparison(entity='params', key='model', op='=', value='rf')))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Entity = Literal["metrics", "params", "tags", "attributes"]
ATTRIBUTES = ("status", "start_time", "end_time", "run_name", "run_id", "experiment_id")


@dataclass(frozen=True)
class Comparison:
    entity: Entity
    key: str
    op: str  # one of = != < <= > >= like ilike in "not in"
    value: str | float | tuple[str | float, ...]


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


Expr = Comparison | And | Or


@dataclass(frozen=True)
class OrderBy:
    entity: Entity
    key: str
    descending: bool = False
