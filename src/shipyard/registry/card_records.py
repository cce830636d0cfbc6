"""The records a model card is built from, read through the registry and validation services.

:func:`gather_card` reads them; :func:`render_card` prints a card as Markdown, HTML
(one self-contained page, plots embedded) or JSON. The server and an embedded CLI
both use them; a remote CLI asks the server for the rendered card.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from shipyard.core.errors import InvalidInputError, ShipyardError
from shipyard.registry.cards import ModelCard, build_card, render_html, render_markdown
from shipyard.registry.wire import plain

if TYPE_CHECKING:
    from shipyard.registry.service import RegistryService
    from shipyard.storage.cas import ContentStore
    from shipyard.validation.models import ValidationResult
    from shipyard.validation.service import ValidationService

FORMATS = ("md", "html", "json")
MAX_VALIDATIONS = 100  # validation results shown per training dataset version


def gather_card(
    registry: RegistryService,
    name: str,
    version: int,
    *,
    validation: ValidationService | None = None,
    content: ContentStore | None = None,
) -> ModelCard:
    """The card of ``name`` version ``version``: its model's fields, lineage, validations of its
    training data, evaluations (plots loaded from ``content`` when given), approvals and history."""
    found = registry.get_version(name, version)
    validations: dict[str, list[ValidationResult]] = {}
    if validation is not None:
        for ref in found.datasets:
            try:
                validations[ref] = validation.list_results(ref, limit=MAX_VALIDATIONS)
            except ShipyardError:  # the dataset version is gone or unreadable: the card says "none"
                validations[ref] = []
    return build_card(
        registry.get_model(name),
        found,
        evaluations=registry.list_evaluations(name, found.version),
        approvals=registry.list_approvals(name, found.version),
        history=registry.history(name),
        validations=validations,
        aliases=registry.aliases(name),
        load_plot=None if content is None else content.get_bytes,
    )


def render_card(card: ModelCard, fmt: str = "md") -> str:
    """The card as ``md`` (Markdown), ``html`` or ``json`` text."""
    if fmt == "md":
        return render_markdown(card)
    if fmt == "html":
        return render_html(card)
    if fmt == "json":
        return orjson.dumps(plain(card.to_dict()), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    raise InvalidInputError(f"unknown card format {fmt!r}: use one of {', '.join(FORMATS)}")
