"""``/health`` and ``/ready``: the two routes a load balancer asks, unsigned."""

from __future__ import annotations

from fastapi import APIRouter, Request

from .. import models as m

router = APIRouter(tags=["service"])


@router.get("/health", response_model=m.Health)
def health() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/ready", response_model=m.Health)
def ready(request: Request) -> dict[str, str]:
    """The database answers and its schema is current."""
    request.app.state.engine.workflows()
    return {"status": "ok"}
