"""``/workflows``: the deployed definitions, as their YAML and as diagrams."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import Response

from .. import models as m
from ..calls import Call, authenticated

router = APIRouter(tags=["workflows"])


@router.get("/workflows", response_model=list[m.Workflow])
def workflows(call: Call = Depends(authenticated)) -> list[dict[str, Any]]:
    return [w.to_dict() for w in call.engine.workflows()]


@router.get("/workflows/{name}", responses={200: {"content": {"text/yaml": {}}}})
def workflow(
    name: str = PathParam(max_length=64),
    version: int | None = Query(default=None, ge=1, le=1_000_000),
    call: Call = Depends(authenticated),
) -> Response:
    """The deployed definition, as the YAML it was deployed from."""
    return Response(call.engine.workflow(name, version).source, media_type="text/yaml")


@router.get("/workflows/{name}/diagram", responses={200: {"content": {"text/plain": {}}}})
def diagram(
    name: str = PathParam(max_length=64),
    version: int | None = Query(default=None, ge=1, le=1_000_000),
    call: Call = Depends(authenticated),
) -> Response:
    """The state machine as a Mermaid diagram."""
    from ...engine.diagram import mermaid

    return Response(mermaid(call.engine.workflow(name, version)), media_type="text/plain")
