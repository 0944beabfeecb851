"""Signing in with a ticket, signing out, and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from .. import sessions
from ..context import LANG_COOKIE, Viewer, viewer
from ..render import page
from ..tickets import check_ticket

router = APIRouter()


def _samesite(v: Viewer) -> str:
    """Lax, unless the console is framed by an OA on another origin over HTTPS."""
    framed = any(a not in ("'self'", "'none'") for a in v.settings.frame_ancestors)
    return "none" if framed and v.settings.secure_cookie else "lax"


@router.get("/login")
async def login(ticket: str = Query(default="", max_length=13000), v: Viewer = Depends(viewer)) -> Response:
    """``/ui/login?ticket=…``: the OA system's ticket starts a session (once)."""
    client, actor = await run_in_threadpool(check_ticket, v.clients, ticket)
    token, _ = await run_in_threadpool(
        sessions.start, v.engine, client.name, client.generation, actor, v.settings.session_life
    )
    out = RedirectResponse("/ui/", status_code=303, headers=v.headers())
    out.set_cookie(
        sessions.COOKIE,
        token,
        max_age=int(v.settings.session_life.total_seconds()),
        path="/ui",
        httponly=True,
        secure=v.settings.secure_cookie,
        samesite=_samesite(v),  # type: ignore[arg-type]
    )
    return out


@router.post("/logout")
def logout(csrf: str = Form(default=""), v: Viewer = Depends(viewer)) -> Response:
    v.check_csrf(csrf)
    if v.session is not None:
        sessions.end(v.engine, v.session)
    out = page(v, "signed_out.html", 200, error=None)
    out.delete_cookie(sessions.COOKIE, path="/ui")
    return out


@router.get("/lang/{lang}")
def switch_lang(lang: str, v: Viewer = Depends(viewer)) -> Response:
    out = RedirectResponse("/ui/", status_code=303)
    out.set_cookie(LANG_COOKIE, "en" if lang == "en" else "zh", path="/ui", samesite="lax", httponly=True)
    return out
