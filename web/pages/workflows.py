"""Workflows: each deployed version as a diagram with its roles, guards and ladder in words;
a YAML checked before it is deployed, every error with its line; the diff between versions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query
from fastapi import Path as PathParam
from fastapi.responses import Response

from ...engine.errors import WorkflowInvalid, ZhenggaiError
from ..context import Viewer, viewer
from ..render import page

router = APIRouter()
Name = PathParam(pattern=r"^[a-z][a-z0-9_]{0,63}$")


@router.get("/workflows")
def workflows(v: Viewer = Depends(viewer)) -> Response:
    v.actor  # noqa: B018  (signed in)
    return page(v, "workflows.html", items=v.engine.workflows(), problems=None, checked=None, source="")


@router.get("/workflows/{name}/diff")
def diff(
    name: str = Name,
    a: int = Query(ge=1, le=1_000_000),
    b: int = Query(ge=1, le=1_000_000),
    v: Viewer = Depends(viewer),
) -> Response:
    v.actor  # noqa: B018
    changes = v.engine.workflow_diff(name, a, b)
    return page(
        v,
        "diff.html",
        name=name,
        a=a,
        b=b,
        changes=[(c.to_dict(), c.render(v.lang)) for c in changes],
        report=None,
        mapping="",
        error=None,
    )


@router.post("/workflows/{name}/dry-run")
def dry_run(
    name: str = Name,
    a: int = Form(ge=1, le=1_000_000),
    b: int = Form(ge=1, le=1_000_000),
    mapping: str = Form(default="", max_length=10_000),
    csrf: str = Form(default=""),
    v: Viewer = Depends(viewer),
) -> Response:
    """A migration from version ``a`` to ``b`` worked out and rolled back: what would move where."""
    v.check_csrf(csrf)
    pairs = [p.strip() for p in mapping.replace(",", "\n").splitlines() if p.strip()]
    changes = [(c.to_dict(), c.render(v.lang)) for c in v.engine.workflow_diff(name, a, b)]
    try:
        report = v.engine.migrate_workflow(name, a, b, actor=v.actor, mapping=pairs, dry_run=True)
    except ZhenggaiError as exc:
        return page(
            v,
            "diff.html",
            exc.http_status,
            name=name,
            a=a,
            b=b,
            changes=changes,
            report=None,
            mapping=mapping,
            error=exc,
        )
    return page(
        v, "diff.html", name=name, a=a, b=b, changes=changes, report=report.to_dict(), mapping=mapping, error=None
    )


@router.get("/workflows/{name}/{version}")
def workflow(name: str = Name, version: int = PathParam(ge=1, le=1_000_000), v: Viewer = Depends(viewer)) -> Response:
    v.actor  # noqa: B018
    outline = v.engine.workflow_outline(name, version)
    diagram = v.engine.workflow_diagram(name, version, lang=v.lang)
    versions = sorted(w.version for w in v.engine.workflows() if w.name == name)
    used = {str(next(iter(g))) if isinstance(g, dict) else str(g) for t in outline["transitions"] for g in t["guards"]}
    docs = {n: d for n, d in v.engine.guard_docs().items() if n in used}
    return page(v, "workflow.html", outline=outline, diagram=diagram, versions=versions, guard_docs=docs)


@router.post("/workflows/check")
def check(
    source: str = Form(default="", max_length=500_000), csrf: str = Form(default=""), v: Viewer = Depends(viewer)
) -> Response:
    """The YAML as the deploy would read it: every error with its line, or what it defines."""
    v.check_csrf(csrf)
    try:
        d = v.engine.validate_workflow(source, file="workflow.yaml")
    except WorkflowInvalid as exc:
        return page(
            v,
            "workflows.html",
            422,
            items=v.engine.workflows(),
            problems=[p.to_dict() for p in exc.problems],
            checked=None,
            source=source,
        )
    return page(v, "workflows.html", items=v.engine.workflows(), problems=[], checked=d, source=source)
