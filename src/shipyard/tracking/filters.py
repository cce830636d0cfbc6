"""The filter language of ``search_runs`` and ``shipyard runs list --filter``.

Grammar (keywords, entities and attribute names case-insensitive)::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := atom ("and" atom)*
    atom       := "(" expr ")" | comparison
    comparison := ident op literal | ident ("in" | "not in") "(" literal ("," literal)* ")"
    ident      := entity "." key          entity: metrics|metric|params|param|tags|tag
                                                  |attributes|attribute|attr|run
    key        := [A-Za-z0-9_\\-./:]+ | `any text` | "any text"
    op         := = | == | != | <> | < | <= | > | >= | like | ilike
    literal    := number | 'string' | "string"
    number     := -?(digits[.digits*] | .digits)([eE][+-]digits)?     (nan and inf are not literals)

    order_by   := ident ["asc" | "desc"] ("," ident ["asc" | "desc"])*

Inside quotes a backslash escapes the quote character and the backslash itself
(``'it\\'s'``); any other backslash is kept, so ``'50\\%'`` is the LIKE pattern ``50\\%``.
Attribute keys are ``status``, ``start_time``, ``end_time``, ``run_name``, ``run_id``
and ``experiment_id``. A malformed filter raises ``InvalidInputError`` naming the
0-based character position and the offending token, followed by the text and a caret.

Parsing normalises: entity aliases to ``metrics``/``params``/``tags``/``attributes``,
``==`` to ``=``, ``<>`` to ``!=``, keywords and attribute names to lower case, and
``attributes.status`` values to lower case. A number without ``.`` or exponent is an
``int``, any other a ``float``. The parser rejects: metrics (and ``start_time``,
``end_time``) compared with a string or with ``like``/``ilike``; the string attributes
compared with a number; ``like``/``ilike`` with a number; ``status`` values that are not
a :class:`RunStatus` (for ``=``, ``!=``, ``in``, ``not in``).

Semantics (every backend implements exactly these):

* A comparison on a metric, param or tag the run does not have is false, whatever the
  operator (``!=`` and ``not in`` too). A NULL ``end_time`` likewise compares false.
* Metrics compare numerically against the run's latest value (see the stores). A NaN
  value compares false, except for ``!=`` and ``not in``, which are true; +/-inf compare
  as the infinities they are. ``in`` is numeric equality with any listed value.
* Params and tags compare as strings for ``=``, ``!=``, ``in``, ``not in``, ``like`` and
  ``ilike``; a number literal then stands for its text as given by :func:`literal_text`
  (``5`` -> ``"5"``, ``0.1`` -> ``"0.1"``, ``1e3`` -> ``"1000.0"``: Python's ``repr``).
  For ``<``, ``<=``, ``>``, ``>=`` they compare numerically when the literal is a
  number: the value must fully match ``[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?``
  (no spaces, no nan/inf) or the comparison is false; with a string literal they
  compare as strings by Unicode code point (SQL: ``COLLATE "C"``).
* ``like`` is SQL LIKE over the whole value, case-sensitive: ``%`` matches any run of
  characters, ``_`` exactly one, and ``\\`` makes the next character literal (SQL:
  ``ESCAPE '\\'``). ``ilike`` is the same on ``lower()`` of both value and pattern.
* Attributes: ``status`` (its value, e.g. ``"running"``), ``run_name``, ``run_id`` and
  ``experiment_id`` are strings as above; ``start_time`` and ``end_time`` are integer
  milliseconds compared numerically.

Ordering (:func:`sort_runs`): each :class:`OrderBy` applies in turn; metrics order
numerically, ``start_time``/``end_time`` as integers, params, tags and the other
attributes as strings by code point. Missing values, NULL ``end_time`` and NaN metrics
sort last for ``asc`` and ``desc`` alike. Remaining ties: ``start_time`` descending,
then run id ascending.

>>> parse_filter("metrics.auc > 0.9 and params.model = 'rf'")  # doctest: +NORMALIZE_WHITESPACE
And(items=(Comparison(entity='metrics', key='auc', op='>', value=0.9),
           Comparison(entity='params', key='model', op='=', value='rf')))
>>> parse_order_by("metrics.auc desc, attributes.start_time")  # doctest: +NORMALIZE_WHITESPACE
[OrderBy(entity='metrics', key='auc', descending=True),
 OrderBy(entity='attributes', key='start_time', descending=False)]
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, NoReturn

from shipyard.core.errors import InvalidInputError
from shipyard.tracking.models import RunStatus

__all__ = [
    "ATTRIBUTES",
    "And",
    "Comparison",
    "Entity",
    "Expr",
    "Or",
    "OrderBy",
    "literal_text",
    "parse_filter",
    "parse_order_by",
]

Entity = Literal["metrics", "params", "tags", "attributes"]
ATTRIBUTES = ("status", "start_time", "end_time", "run_name", "run_id", "experiment_id")
TIME_ATTRIBUTES = ("start_time", "end_time")
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "like", "ilike", "in", "not in")


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


_ENTITIES: dict[str, Entity] = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
    "run": "attributes",
}
_SYMBOL_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_STATUSES = tuple(status.value for status in RunStatus)
_MAX_DEPTH = 64
_WORD_CHARS = r"A-Za-z0-9_\-./:"
_WORD_RE = re.compile(f"[{_WORD_CHARS}]+")
_NUMBER_RE = re.compile(rf"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?(?![{_WORD_CHARS}])")
_OP_RE = re.compile(r"[=!<>]+")

# ---------------------------------------------------------------------------- tokens


class _Token(NamedTuple):
    kind: str  # word number string name op ( ) , end
    text: str  # the source text
    pos: int
    value: str = ""  # decoded content of a quoted token


def _fail(what: str, text: str, pos: int, token: str, message: str) -> NoReturn:
    shown = repr(token) if token else "end of input"
    line = "".join(" " if ch.isspace() else ch for ch in text)
    raise InvalidInputError(
        f"invalid {what} at position {pos} ({shown}): {message}\n  {line}\n  {' ' * pos}^",
        details={"position": pos, "token": token},
    )


def _quoted(text: str, pos: int, what: str) -> _Token:
    quote, chars, i = text[pos], [], pos + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            chars.append(text[i + 1])
            i += 2
        elif ch == quote:
            kind = "name" if quote == "`" else "string"
            return _Token(kind, text[pos : i + 1], pos, "".join(chars))
        else:
            chars.append(ch)
            i += 1
    _fail(what, text, pos, text[pos:], f"unterminated quote {quote}")


def _next_token(text: str, pos: int, what: str) -> _Token:
    ch = text[pos]
    if ch in "'\"`":
        return _quoted(text, pos, what)
    if ch in "(),":
        return _Token(ch, ch, pos)
    for kind, pattern in (("number", _NUMBER_RE), ("word", _WORD_RE), ("op", _OP_RE)):
        found = pattern.match(text, pos)
        if found:
            return _Token(kind, found.group(), pos)
    _fail(what, text, pos, ch, "unexpected character")


def _tokenize(text: str, what: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        token = _next_token(text, pos, what)
        tokens.append(token)
        pos += len(token.text)
    tokens.append(_Token("end", "", len(text)))
    return tokens


# ---------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over the token list; one instance per text."""

    def __init__(self, text: str, what: str) -> None:
        self.text, self.what = text, what
        self.tokens = _tokenize(text, what)
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def fail(self, token: _Token, message: str) -> NoReturn:
        _fail(self.what, self.text, token.pos, token.text, message)

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.lower() in words

    def expr(self) -> Expr:
        items = [self.and_expr()]
        while self.at_keyword("or"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.atom()]
        while self.at_keyword("and"):
            self.take()
            items.append(self.atom())
        return items[0] if len(items) == 1 else And(tuple(items))

    def atom(self) -> Expr:
        if self.peek().kind != "(":
            return self.comparison()
        opening = self.take()
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.fail(opening, f"parentheses nested deeper than {_MAX_DEPTH}")
        inner = self.expr()
        if self.peek().kind != ")":
            self.fail(self.peek(), "expected ')', 'and' or 'or'")
        self.take()
        self.depth -= 1
        return inner

    def ident(self) -> tuple[Entity, str]:
        token = self.take()
        if token.kind != "word" or "." not in token.text:
            self.fail(token, "expected entity.key, e.g. metrics.auc, params.model or metrics.`train loss`")
        head, _, key = token.text.partition(".")
        entity = _ENTITIES.get(head.lower())
        if entity is None:
            self.fail(token, f"unknown entity {head!r}; expected one of {', '.join(_ENTITIES)}")
        if not key:
            key = self.quoted_key(head)
        if entity == "attributes":
            key = key.lower()
            if key not in ATTRIBUTES:
                self.fail(token, f"unknown attribute {key!r}; expected one of {', '.join(ATTRIBUTES)}")
        return entity, key

    def quoted_key(self, head: str) -> str:
        token = self.peek()
        if token.kind != "name" and not (token.kind == "string" and token.text.startswith('"')):
            self.fail(
                token, f"expected a key after '{head}.' (quote it with `backticks` or \"double quotes\")"
            )
        if not token.value:
            self.fail(token, "empty key")
        return self.take().value

    def operator(self) -> str:
        token = self.take()
        if token.kind == "op" and token.text in _SYMBOL_OPS:
            return _SYMBOL_OPS[token.text]
        word = token.text.lower() if token.kind == "word" else ""
        if word in ("like", "ilike", "in"):
            return word
        if word == "not" and self.at_keyword("in"):
            self.take()
            return "not in"
        self.fail(token, f"expected a comparison operator ({', '.join(OPERATORS)})")

    def literal(self) -> tuple[str | float, _Token]:
        token = self.take()
        if token.kind == "string":
            return token.value, token
        if token.kind == "number":
            return self.number(token), token
        if token.kind == "word" and token.text.lower().lstrip("-+") in ("nan", "inf", "infinity"):
            self.fail(token, "nan and inf are not literals; compare with a finite number")
        self.fail(token, "expected a literal: a number or a 'quoted string'")

    def number(self, token: _Token) -> float:
        try:
            value: float = float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
        except ValueError:
            self.fail(token, "number has too many digits")
        if not math.isfinite(value) or (isinstance(value, int) and abs(value) >= 2**63):
            self.fail(token, "number out of range")
        return value

    def literal_list(self) -> list[tuple[str | float, _Token]]:
        if self.peek().kind != "(":
            self.fail(self.peek(), "expected '(' and a list of literals after in")
        self.take()
        items = [self.literal()]
        while self.peek().kind == ",":
            self.take()
            items.append(self.literal())
        if self.peek().kind != ")":
            self.fail(self.peek(), "expected ',' or ')'")
        self.take()
        return items

    def comparison(self) -> Comparison:
        entity, key = self.ident()
        op_token = self.peek()
        op = self.operator()
        items = self.literal_list() if op in ("in", "not in") else [self.literal()]
        values = self.checked(entity, key, op, op_token, items)
        value = tuple(values) if op in ("in", "not in") else values[0]
        return Comparison(entity, key, op, value)

    def checked(
        self, entity: Entity, key: str, op: str, op_token: _Token, items: list[tuple[str | float, _Token]]
    ) -> list[str | float]:
        """Enforce the typing rules of the module docstring; normalise status values."""
        name = f"{entity}.{key}"
        numeric = entity == "metrics" or (entity == "attributes" and key in TIME_ATTRIBUTES)
        if op in ("like", "ilike") and numeric:
            self.fail(op_token, f"{name} is a number: like/ilike apply to params, tags and string attributes")
        check_status = entity == "attributes" and key == "status" and op in ("=", "!=", "in", "not in")
        values: list[str | float] = []
        for value, token in items:
            if isinstance(value, str):
                if numeric:
                    self.fail(token, f"{name} is a number: compare it with a number, not a string")
                values.append(self.status_value(value, token) if check_status else value)
            elif entity == "attributes" and not numeric:
                self.fail(token, f"{name} is a string: quote the value")
            elif op in ("like", "ilike"):
                self.fail(token, f"{op} needs a quoted pattern")
            else:
                values.append(value)
        return values

    def status_value(self, value: str, token: _Token) -> str:
        if value.lower() not in _STATUSES:
            self.fail(token, f"unknown status {value!r}; expected one of {', '.join(_STATUSES)}")
        return value.lower()


def parse_filter(text: str | None) -> Expr | None:
    """Parse a filter; ``None`` or blank text means "no filter"."""
    if text is None or not text.strip():
        return None
    parser = _Parser(text, "filter")
    expr = parser.expr()
    if parser.peek().kind != "end":
        parser.fail(parser.peek(), "expected 'and', 'or' or the end of the filter")
    return expr


def parse_order_by(spec: str | Sequence[str] | None) -> list[OrderBy]:
    """Parse ``"metrics.auc desc, attributes.start_time"`` (or a list of such strings)."""
    specs = [] if spec is None else [spec] if isinstance(spec, str) else list(spec)
    result: list[OrderBy] = []
    for text in specs:
        if text.strip():
            result.extend(_parse_order_by_text(text))
    return result


def _parse_order_by_text(text: str) -> list[OrderBy]:
    parser, result = _Parser(text, "order_by"), []
    while True:
        entity, key = parser.ident()
        descending = False
        if parser.at_keyword("asc", "desc"):
            descending = parser.take().text.lower() == "desc"
        result.append(OrderBy(entity, key, descending))
        token = parser.take()
        if token.kind == "end":
            return result
        if token.kind != ",":
            parser.fail(token, "expected 'asc', 'desc', ',' or the end")


def literal_text(value: str | float) -> str:
    """The text a literal stands for when compared with a string value."""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int) else repr(float(value))
