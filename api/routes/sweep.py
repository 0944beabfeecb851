"""``/sweep``: the escalation sweep, for an OA system that runs its own scheduler."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from .. import models as m
from ..calls import Call, answer, authenticated

router = APIRouter(tags=["escalation"])


@router.post("/sweep", response_model=m.Open)
def sweep(body: m.SweepIn, call: Call = Depends(authenticated)) -> Response:
    """Apply the escalation rules whose time has come (for an OA system's own scheduler);
    needs the ``system`` or ``admin`` role over every unit (scope ``*``); a future ``as_of``
    only as a dry run (both the engine's rules, as for every caller)."""
    return answer(
        call,
        200,
        lambda _: call.engine.sweep(
            body.as_of, dry_run=body.dry_run, actor=call.actor, backdate=body.backdate
        ).to_dict(),
    )
