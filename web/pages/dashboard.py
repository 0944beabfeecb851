"""督办看板: a round's counts, lights by unit, completion rates, overdue and supervised items,
units ranked and the burn-down, as of a date — the engine's statistics, drawn in the browser."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ..context import Viewer, viewer
from ..render import label, page

router = APIRouter()


def _ranked(stats: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    groups = stats.get("by", {}).get("groups", {})
    return sorted(groups.items(), key=lambda kv: (-(kv[1]["completion_rate"] or 0), kv[1]["overdue"], kv[0]))


@router.get("/")
def dashboard(
    round: str | None = Query(default=None, max_length=64),
    as_of: str | None = Query(default=None, max_length=10),
    v: Viewer = Depends(viewer),
) -> Response:
    actor = v.actor
    rounds = v.engine.rounds(actor)
    code = round or (rounds[0]["code"] if rounds else None)
    stats = v.engine.stats(code, actor=actor, by="unit", as_of=as_of or None) if code else None
    charts = None
    if stats is not None:
        r = next(x for x in rounds if x["code"] == code)
        states = v.engine.workflow_outline(r["workflow"], r["workflow_version"])["states"]
        units = list(stats["by"]["groups"])
        charts = {
            "states": {
                label(states[k]["label"], v.lang) if k in states else k: n for k, n in stats["by_state"].items()
            },
            "lights": {
                "units": units,
                "red": [stats["by"]["groups"][u]["lights"].get("red", 0) for u in units],
                "yellow": [stats["by"]["groups"][u]["lights"].get("yellow", 0) for u in units],
                "green": [stats["by"]["groups"][u]["lights"].get("green", 0) for u in units],
            },
            "burn_down": stats["burn_down"],
            "lang": v.lang,
        }
    return page(
        v,
        "dashboard.html",
        rounds=rounds,
        code=code,
        stats=stats,
        charts=charts,
        ranked=_ranked(stats) if stats else [],
        as_of=as_of or "",
    )
