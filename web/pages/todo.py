"""我的待办: what this person can do next across rounds, red first, then by deadline."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from ..context import Viewer, viewer
from ..render import page

router = APIRouter()


@router.get("/todo")
def todo(v: Viewer = Depends(viewer)) -> Response:
    return page(v, "todo.html", items=v.engine.todo(v.actor))
