"""``/issues``: list, add and read issues; record measures, evidence, sign-offs, mechanisms
and assignments; fire triggers; explain; history.  Writes honour ``If-Match``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response

from ...engine.errors import InvalidInput
from ...i18n import Text
from .. import models as m
from ..calls import Call, IssueCode, answer, authenticated, etag, issue_out, issue_write

router = APIRouter(tags=["issues"])


@router.get("/issues", response_model=m.IssuePage)
def issues(
    round: str | None = Query(default=None, max_length=64),
    state: list[str] | None = Query(default=None),
    category: list[str] | None = Query(default=None),
    owner: str | None = Query(default=None, max_length=128),
    light: list[str] | None = Query(default=None),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=10_000_000),
    call: Call = Depends(authenticated),
) -> dict[str, Any]:
    """Issues inside the actor's scope, filtered and paged."""
    items = call.engine.issues(
        call.actor, round_code=round, states=state, categories=category, owner=owner, lights=light, limit=limit,
        offset=offset,
    )  # fmt: skip
    return {"items": [v.to_dict() for v in items], "limit": limit, "offset": offset}


@router.post("/rounds/{code}/issues", status_code=201, response_model=m.Issue)
def add_issue(body: m.IssueIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
    def run(request_id: str | None) -> dict[str, Any]:
        data = body.model_dump()
        issue_code = data.pop("code")
        call.engine.add_issue(code, issue_code, **data, actor=call.actor, request_id=request_id)
        return issue_out(call, issue_code)

    return answer(call, 201, run, etag)


@router.get("/todo", response_model=m.IssuePage)
def todo(limit: int = Query(default=200, ge=1, le=1000), call: Call = Depends(authenticated)) -> dict[str, Any]:
    """我的待办: the issues on which the actor has a step available now, whatever their role on
    it (owner, unit lead, reviewer, office), red first, then by deadline."""
    items = call.engine.todo(call.actor, limit=limit)
    return {"items": [v.to_dict() for v in items], "limit": limit, "offset": 0}


@router.get("/issues/{code}", response_model=m.Issue)
def issue(code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
    """An issue with its measures, evidence, sign-offs, mechanisms, and each trigger from its
    state: available to this actor, or the reasons it is not."""
    view = issue_out(call, code)
    return JSONResponse(view, headers=etag(view))


@router.get("/issues/{code}/explain", response_model=m.Explanation)
def explain(
    code: str = IssueCode,
    trigger: str | None = Query(default=None, max_length=64, pattern=r"^[a-z][a-z0-9_]*$"),
    call: Call = Depends(authenticated),
) -> dict[str, Any]:
    """Why the issue can or cannot move: each trigger from its state (or the one asked),
    each role and guard judged as a fire would, the period and the workflow version."""
    return call.engine.explain(code, trigger, actor=call.actor).to_dict()


@router.post("/issues/{code}/measures", response_model=m.Issue)
def add_measure(body: m.MeasureIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
    return issue_write(
        call,
        code,
        lambda v, rid: call.engine.add_measure(
            code, **body.model_dump(), actor=call.actor, expected_version=v, request_id=rid
        ),
    )


@router.post("/issues/{code}/measures/{no}/done", response_model=m.Issue)
def complete_measure(
    body: m.CommentIn,
    code: str = IssueCode,
    no: int = PathParam(ge=1, le=10_000),
    call: Call = Depends(authenticated),
) -> Response:
    return issue_write(
        call,
        code,
        lambda v, rid: call.engine.complete_measure(
            code, no, comment=body.comment, actor=call.actor, expected_version=v, request_id=rid
        ),
    )


@router.post("/issues/{code}/evidence", response_model=m.Issue)
def add_evidence(body: m.EvidenceIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
    """Evidence the OA system keeps (its URI and the file's SHA-256).  ``zhenggai://`` names the
    files this server keeps, which only its console's upload records: a client naming one would
    be claiming a file it never gave."""
    if body.uri.lower().startswith("zhenggai:"):
        raise InvalidInput(
            Text("zhenggai:// 只用于控制台上传的文件", "zhenggai:// names files uploaded through the console only"),
            field="uri",
        )
    return issue_write(
        call,
        code,
        lambda v, rid: call.engine.add_evidence(
            code, **body.model_dump(), actor=call.actor, expected_version=v, request_id=rid
        ),
    )


@router.post("/issues/{code}/signoffs", response_model=m.Issue)
def sign_off(body: m.SignoffIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
    return issue_write(
        call,
        code,
        lambda v, rid: call.engine.sign_off(
            code, body.role, comment=body.comment, actor=call.actor, expected_version=v, request_id=rid
        ),
    )


@router.post("/issues/{code}/mechanisms", response_model=m.Issue)
def add_mechanism(body: m.MechanismIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
    return issue_write(
        call,
        code,
        lambda v, rid: call.engine.add_mechanism(
            code, **body.model_dump(), actor=call.actor, expected_version=v, request_id=rid
        ),
    )


@router.post("/issues/{code}/assignment", response_model=m.Issue)
def assign(body: m.AssignIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
    return issue_write(
        call,
        code,
        lambda v, rid: call.engine.assign(
            code, **body.model_dump(), actor=call.actor, expected_version=v, request_id=rid
        ),
    )


@router.post("/issues/{code}/correction", response_model=m.Issue)
def correct(body: m.CorrectionIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
    """Correct the disclosure (confidential) or the source, with a reason; closed issues too."""
    return issue_write(
        call,
        code,
        lambda v, rid: call.engine.correct_issue(
            code, **body.model_dump(), actor=call.actor, expected_version=v, request_id=rid
        ),
    )


@router.post("/issues/{code}/transitions/{trigger}", response_model=m.Issue | m.Moved)
def fire(
    body: m.TransitionIn,
    code: str = IssueCode,
    trigger: str = PathParam(pattern=r"^[a-z][a-z0-9_]{0,63}$"),
    call: Call = Depends(authenticated),
) -> Response:
    """Fire a trigger.  A refusal (409) lists every failed rule: role, required field, guard.
    The answer is the issue's detail, or with ``Prefer: return=minimal`` only where it went
    (states, event number, new version) — half the work for a busy OA system."""

    def move(expected: int | None, request_id: str | None) -> Any:
        return call.engine.fire(
            code, trigger, actor=call.actor, role=body.role, comment=body.comment, request_id=request_id,
            expected_version=expected,
        )  # fmt: skip

    if call.minimal:
        return answer(
            call,
            200,
            lambda request_id: move(call.if_match, request_id).to_dict(),
            lambda r: {"ETag": f'"{r["version"]}"', "Preference-Applied": "return=minimal"},
        )
    return issue_write(call, code, move)


@router.get("/issues/{code}/history", response_model=m.History)
def history(
    code: str = IssueCode, verify: bool = Query(default=False), call: Call = Depends(authenticated)
) -> dict[str, Any]:
    """Every event on the issue's hash chain; with ``verify``, the chain checked against the issue."""
    out: dict[str, Any] = {"events": call.engine.history(code, call.actor)}
    if verify:
        out["verification"] = call.engine.verify(code, call.actor).to_dict()
    return out
