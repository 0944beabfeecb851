"""The HTTP API: a thin FastAPI adapter that authenticates, calls the Engine and shapes the answer.

No rule lives here.  Each route (:mod:`.routes`, one module per resource) authenticates the
request (:mod:`.calls`, :mod:`.clients`), calls one Engine method as the actor the OA system
asserted, and turns the result — or the engine's refusal — into JSON (errors as
``application/problem+json``, :mod:`.problems`).  POSTs honour ``Idempotency-Key``; writes to
an issue honour ``If-Match`` with the ETag a read returned.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from fastapi import FastAPI

from ..engine.errors import ZhenggaiError
from . import problems
from .clients import Clients
from .problems import ERRORS, BodyLimit
from .routes import deadlines, issues, rounds, service, sweep, workflows

if TYPE_CHECKING:
    from ..engine.service import Engine
    from ..web.settings import UiSettings

log = logging.getLogger("zhenggai.api")


UPLOAD_PATH = re.compile(r"/ui/issues/[^/]+/evidence")

def create_app(engine: Engine, *, console: UiSettings | None = None) -> FastAPI:
    """The ASGI app over ``engine`` (``zhenggai serve`` builds one from the environment), with
    the console for people mounted under ``/ui`` (settings from the environment by default)."""
    from ..web import console_app
    from ..web.settings import UiSettings as _UiSettings

    ui = console or _UiSettings.from_env()
    app = FastAPI(
        title="zhenggai",
        version="1",
        summary="整改 — rectification of inspection and audit findings, tracked until closed (销号)",
        description=(
            "Every request except /health and /ready is signed by the calling OA system: "
            "X-Zhenggai-Client, X-Zhenggai-Actor, X-Zhenggai-Timestamp, X-Zhenggai-Nonce and X-Zhenggai-Signature "
            "(HMAC-SHA256; see the README). Errors are application/problem+json with a stable `code`."
        ),
        responses=ERRORS,
        # no redirect to the path with or without a slash: its Location would repeat the Host
        # the request gave (a path that differs by a slash is simply not found)
        redirect_slashes=False,
    )
    # an upload's allowance for the one route that takes files: any other path, signed in or
    # not, is held to the API's limit before a byte of it is kept
    app.add_middleware(BodyLimit, larger=((UPLOAD_PATH, ui.max_upload + (64 << 10)),))
    problems.install(app)
    for module in (service, workflows, rounds, issues, deadlines, sweep):
        app.include_router(module.router)
    app.state.clients = Clients(engine)
    app.state.engine = engine
    app.mount("/ui", console_app(engine, app.state.clients, ui))
    return app


def app_from_env() -> FastAPI:
    """The app ``zhenggai serve`` runs in each worker: the database from ``ZHENGGAI_DB``,
    notifiers from the environment, as for the command line (:mod:`zhenggai.config`).  A
    worker that cannot start says why and exits with the error's exit status."""
    from ..config import engine_from_env

    try:
        engine = engine_from_env()
    except ZhenggaiError as exc:
        log.error("%s", exc.render())
        raise SystemExit(exc.exit_code) from None
    return create_app(engine)
