"""``/rounds``: open and read rounds, their statistics and their ledger."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from .. import models as m
from ..calls import Call, IssueCode, answer, authenticated
from ..heavy import heavy

router = APIRouter(tags=["rounds"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/rounds", response_model=list[m.Round])
def rounds(call: Call = Depends(authenticated)) -> list[dict[str, Any]]:
    return call.engine.rounds(call.actor)


@router.post("/rounds", status_code=201, response_model=m.Round)
def open_round(body: m.RoundIn, call: Call = Depends(authenticated)) -> Response:
    return answer(call, 201, lambda rid: call.engine.open_round(**body.model_dump(), actor=call.actor, request_id=rid))


@router.get("/rounds/{code}", response_model=m.Round)
def round_(code: str = IssueCode, call: Call = Depends(authenticated)) -> dict[str, Any]:
    return call.engine.round(code, call.actor)


@router.get("/rounds/{code}/stats", response_model=m.Open)
async def stats(
    request: Request,
    code: str = IssueCode,
    by: str | None = Query(default=None, pattern="^(unit|category|source|state)$"),
    call: Call = Depends(authenticated),
) -> dict[str, Any]:
    """Counts, completion rates, overdue, supervised, lights and the weekly burn-down, for the
    issues inside the actor's scope.  A heavy request: a few at once per worker (503 beyond)."""
    async with heavy(request):
        result: dict[str, Any] = await run_in_threadpool(call.engine.stats, code, actor=call.actor, by=by)
        return result


@router.get("/rounds/{code}/ledger", responses={200: {"content": {"text/csv": {}, XLSX: {}}}})
async def ledger(
    request: Request,
    code: str = IssueCode,
    format: str = Query(default="xlsx", pattern="^(xlsx|csv)$"),
    state: list[str] | None = Query(default=None),
    category: list[str] | None = Query(default=None),
    light: list[str] | None = Query(default=None),
    source: list[str] | None = Query(default=None),
    unit: str | None = Query(default=None, max_length=500),
    call: Call = Depends(authenticated),
) -> Response:
    """The ledger (整改台账) of the issues inside the actor's scope.  A heavy request: a few at
    once per worker (503 beyond), and stopped if the client goes away before it is written."""
    async with heavy(request) as gone:
        with TemporaryDirectory() as tmp:
            out = Path(tmp) / f"ledger.{format}"
            await run_in_threadpool(
                call.engine.export_ledger, code, out, actor=call.actor, fmt=format, states=state,
                categories=category, lights=light, sources=source, unit=unit, should_stop=gone,
            )  # fmt: skip
            return Response(
                out.read_bytes(),
                media_type="text/csv" if format == "csv" else XLSX,
                headers={"Content-Disposition": f'attachment; filename="{code}-ledger.{format}"'},
            )
