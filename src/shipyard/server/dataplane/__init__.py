"""The serving data plane: ``shipyard serve``, answering predictions for deployments.

A Starlette app on uvicorn (uvloop, httptools), separate from the control-plane REST API
of ``shipyard server``: :mod:`~shipyard.server.dataplane.app` builds it,
:mod:`~shipyard.server.dataplane.live` keeps the deployments in step with the control
plane, :mod:`~shipyard.server.dataplane.inference` is the prediction path shared by the
``/v1`` endpoints (:mod:`~shipyard.server.dataplane.handlers`) and the Open Inference
Protocol (:mod:`~shipyard.server.dataplane.v2`).
"""
