"""``/issues/{code}/deadline-changes``: ask for a deadline change (延期申请), decide it, list
them.  Writes honour ``If-Match`` and answer with the issue as it now is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from .. import models as m
from ..calls import Call, IssueCode, authenticated, issue_write

router = APIRouter(tags=["deadline changes"])


@router.get("/issues/{code}/deadline-changes")
def deadline_changes(code: str = IssueCode, call: Call = Depends(authenticated)) -> list[dict[str, Any]]:
    """The issue's deadline changes, asked and decided, in order."""
    return call.engine.deadline_changes(code, call.actor)


@router.post("/issues/{code}/deadline-changes", status_code=201, response_model=m.Issue)
def request_change(body: m.DeadlineChangeIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
    """Ask for a later deadline, with a reason (the workflow's ``request_extension`` role)."""
    return issue_write(
        call,
        code,
        lambda v, rid: call.engine.request_extension(
            code,
            body.due_date,
            reason=body.reason,
            category=body.category,
            measure_dates=dict(body.measure_dates),
            actor=call.actor,
            expected_version=v,
            request_id=rid,
        ),
        status=201,
    )


@router.post("/issues/{code}/deadline-changes/decision", response_model=m.Issue)
def decide_change(body: m.DeadlineDecisionIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
    """Approve or refuse the pending deadline change (the workflow's ``decide_extension`` role)."""
    return issue_write(
        call,
        code,
        lambda v, rid: call.engine.decide_extension(
            code, approve=body.approve, comment=body.comment, actor=call.actor, expected_version=v, request_id=rid
        ),
    )
