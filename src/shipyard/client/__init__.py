"""The SDK's side of a Shipyard server: one HTTP client and the REST content store.

The REST-backed domain stores (``tracking.store.rest``, ``governance.store.rest``)
are built on :class:`shipyard.client.http.HttpClient`.
"""
