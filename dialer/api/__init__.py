"""The HTTP API (FastAPI): routers in :mod:`dialer.api.routes`, auth in :mod:`dialer.api.auth`,
error shapes in :mod:`dialer.api.errors`, the app factory in :mod:`dialer.api.server`."""
