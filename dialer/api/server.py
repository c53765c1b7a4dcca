"""The application factory: one FastAPI app with the API, the pages and the static files (F1).

Routers are found, not listed: every module of :mod:`dialer.api.routes` and
:mod:`dialer.web.pages` that exposes ``router`` is mounted (each router carries its own
prefix), so a feature adds a module and nothing else.  OpenAPI is at ``/openapi.json`` and
``/docs``; ``/healthz`` says whether the database answers and whether an engine runs here.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from dialer.api import errors, routes
from dialer.api.context import WebContext
from dialer.web import pages, templating


def _modules(package: ModuleType) -> list[ModuleType]:
    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            found.append(importlib.import_module(f"{package.__name__}.{info.name}"))
    return found


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("campaign-dialer")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def create_app(ctx: WebContext) -> FastAPI:
    """The web application over ``ctx`` (nothing is built at import time)."""
    app = FastAPI(title="campaign-dialer", version=_version(), docs_url="/docs",
                  openapi_url="/openapi.json", redoc_url=None)
    app.state.ctx = ctx
    app.state.templates = templating.templates()
    errors.install(app)
    app.add_exception_handler(templating.LoginRequired, templating.to_login)  # type: ignore[arg-type]
    app.add_exception_handler(templating.PageForbidden, templating.forbidden_page)  # type: ignore[arg-type]
    app.mount("/static", StaticFiles(directory=str(templating.STATIC)), name="static")

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, Any]:
        """Liveness: the database answers; says whether a dialing engine runs in this server."""
        await ctx.run(lambda session: session.execute(text("SELECT 1")))
        return {"status": "ok", "database": "ok",
                "engine": "running" if ctx.engine is not None else "absent"}

    for module in _modules(routes) + _modules(pages):
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)
    return app
