"""``/sweep``: the escalation sweep, for an OA system that runs its own scheduler."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from ...engine.actors import ALL_ORGS
from ...engine.errors import Forbidden, InvalidInput
from ...i18n import Text
from .. import models as m
from ..calls import Call, answer, authenticated

router = APIRouter(tags=["escalation"])


@router.post("/sweep", response_model=m.Open)
def sweep(body: m.SweepIn, call: Call = Depends(authenticated)) -> Response:
    """Apply the escalation rules whose time has come (for an OA system's own scheduler);
    needs the ``system`` or ``admin`` role over every unit (scope ``*``); a future ``as_of``
    only as a dry run."""
    if not call.actor.roles & {"system", "admin"} or ALL_ORGS not in call.actor.scope:
        raise Forbidden(
            Text(
                "只有组织范围为全部（*）的 system 或 admin 角色可以运行督办扫描",
                "only the system or admin role with scope * may run the sweep",
            )
        )
    if body.as_of is not None and not body.dry_run and body.as_of > call.engine.clock.now().date():
        raise InvalidInput(
            Text("只能预演（dry_run）未来日期的扫描", "a sweep as of a future date may only be a dry run"),
            field="as_of",
        )
    return answer(call, 200, lambda: call.engine.sweep(body.as_of, dry_run=body.dry_run).to_dict())
