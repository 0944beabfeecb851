"""The console (控制台): pages for people, served under ``/ui/`` by the same process and Engine
as the HTTP API.

Server-rendered (Jinja2), htmx for partial updates, ECharts for the dashboard's charts and
mermaid for workflow diagrams — all shipped inside the package (``static/vendor``, each with
its licence and version).  People sign in with a login ticket their OA system signs
(:mod:`.tickets`) and keep a server-side session (:mod:`.sessions`); every form carries a CSRF
token and every page a Content-Security-Policy without inline script.  No rule lives here:
each page reads or calls an Engine method and shows its answer or its refusal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from ..engine.errors import ZhenggaiError
from .context import SignedOut, viewer
from .pages import auth, dashboard, dossier, issues, operations, todo, workflows
from .render import STATIC, page
from .settings import UiSettings

if TYPE_CHECKING:
    from ..api.clients import Clients
    from ..engine.service import Engine


def console_app(engine: Engine, clients: Clients, settings: UiSettings | None = None) -> FastAPI:
    """The console as an ASGI app, mounted by :func:`zhenggai.api.app.create_app` at ``/ui``."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    app.state.engine = engine
    app.state.clients = clients
    app.state.settings = settings or UiSettings.from_env()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (auth, dashboard, issues, dossier, todo, workflows, operations):
        app.include_router(module.router)

    @app.exception_handler(ZhenggaiError)
    async def refused(request: Request, exc: ZhenggaiError) -> Response:
        v = await viewer(request)
        if isinstance(exc, SignedOut):
            return page(v, "signed_out.html", 401, error=exc)
        return page(v, "error.html", exc.http_status, error=exc)

    return app


__all__ = ["HTMLResponse", "UiSettings", "console_app"]
