"""Operations (operators only): notices pending and dead with retry, and an audit verify."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse, Response

from ...engine.errors import Forbidden
from ...i18n import Text
from ..context import Viewer, viewer
from ..render import page

router = APIRouter()


def _operator(v: Viewer) -> None:
    v.actor  # noqa: B018
    if not v.is_operator():
        raise Forbidden(
            Text("仅运维人员（system 或 admin，范围 *）可查看", "operators only (system or admin over every unit)")
        )


@router.get("/ops")
def operations(v: Viewer = Depends(viewer)) -> Response:
    _operator(v)
    pending = v.engine.outbox(status="pending", limit=100)
    dead = v.engine.outbox(status="dead", limit=100)
    return page(v, "ops.html", pending=pending, dead=dead, audit=None, sweeps=v.engine.recent_escalations())


@router.post("/ops/retry")
def retry(csrf: str = Form(default=""), v: Viewer = Depends(viewer)) -> Response:
    v.check_csrf(csrf)
    _operator(v)
    v.engine.retry_dead()
    return RedirectResponse("/ui/ops", status_code=303)


@router.post("/ops/verify")
def verify(csrf: str = Form(default=""), v: Viewer = Depends(viewer)) -> Response:
    v.check_csrf(csrf)
    _operator(v)
    report = v.engine.audit_verify(v.actor)
    pending = v.engine.outbox(status="pending", limit=100)
    dead = v.engine.outbox(status="dead", limit=100)
    return page(v, "ops.html", pending=pending, dead=dead, audit=report, sweeps=v.engine.recent_escalations())
