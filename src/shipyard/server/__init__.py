"""The Shipyard server: the REST API under ``/api/v1`` (FastAPI), run by :func:`runner.serve`.

``app.create_app`` wires the routers (one module per resource under ``routers/``),
the error mapping (``errors.py``) and the bearer-token check (``auth.py``) around a
:class:`~shipyard.workspace.Workspace`; handlers only call its services.
"""
