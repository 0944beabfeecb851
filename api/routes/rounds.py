"""``/rounds``: open and read rounds, their statistics and their ledger."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from .. import models as m
from ..calls import Call, IssueCode, answer, authenticated

router = APIRouter(tags=["rounds"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/rounds", response_model=list[m.Round])
def rounds(call: Call = Depends(authenticated)) -> list[dict[str, Any]]:
    return call.engine.rounds(call.actor)


@router.post("/rounds", status_code=201, response_model=m.Round)
def open_round(body: m.RoundIn, call: Call = Depends(authenticated)) -> Response:
    return answer(call, 201, lambda _: call.engine.open_round(**body.model_dump(), actor=call.actor))


@router.get("/rounds/{code}", response_model=m.Round)
def round_(code: str = IssueCode, call: Call = Depends(authenticated)) -> dict[str, Any]:
    return call.engine.round(code, call.actor)


@router.get("/rounds/{code}/stats", response_model=m.Open)
def stats(
    code: str = IssueCode,
    by: str | None = Query(default=None, pattern="^(unit|category|source|state)$"),
    call: Call = Depends(authenticated),
) -> dict[str, Any]:
    """Counts, completion rates, overdue, supervised, lights and the weekly burn-down, for the
    issues inside the actor's scope."""
    return call.engine.stats(code, actor=call.actor, by=by)


@router.get("/rounds/{code}/ledger", responses={200: {"content": {"text/csv": {}, XLSX: {}}}})
def ledger(
    code: str = IssueCode,
    format: str = Query(default="xlsx", pattern="^(xlsx|csv)$"),
    state: list[str] | None = Query(default=None),
    category: list[str] | None = Query(default=None),
    light: list[str] | None = Query(default=None),
    source: list[str] | None = Query(default=None),
    unit: str | None = Query(default=None, max_length=500),
    call: Call = Depends(authenticated),
) -> Response:
    """The ledger (整改台账) of the issues inside the actor's scope."""
    with TemporaryDirectory() as tmp:
        out = Path(tmp) / f"ledger.{format}"
        call.engine.export_ledger(
            code, out, actor=call.actor, fmt=format, states=state, categories=category, lights=light,
            sources=source, unit=unit,
        )  # fmt: skip
        return Response(
            out.read_bytes(),
            media_type="text/csv" if format == "csv" else XLSX,
            headers={"Content-Disposition": f'attachment; filename="{code}-ledger.{format}"'},
        )
