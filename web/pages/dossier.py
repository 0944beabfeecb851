"""一问题一档案: one issue's dossier, and the forms that act on it (measures, evidence with
upload, sign-off, firing a step with a comment — reopening is one — deadline changes asked
and decided, and downloads)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse, Response

from ...engine.errors import InvalidInput, NotFound, ZhenggaiError
from ...i18n import Text
from .. import files
from ..context import Viewer, viewer
from ..render import page

router = APIRouter()
Code = PathParam(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")


def dossier_page(
    v: Viewer, code: str, error: ZhenggaiError | None = None, status: int = 200, posted: dict[str, str] | None = None
) -> Response:
    """The dossier; after a refusal, with it on top and the form's text kept for another try."""
    actor = v.actor
    issue = v.engine.issue(code, actor)
    history = v.engine.history(code, actor)
    chain = v.engine.verify(code, actor)
    explanation = v.engine.explain(code, actor=actor).to_dict()
    return page(
        v,
        "dossier.html",
        status,
        issue=issue,
        history=history,
        chain=chain,
        explanation=explanation,
        error=error,
        stored=files.STORED_RE,
        posted=posted or {},
    )


@router.get("/issues/{code}")
def dossier(code: str = Code, v: Viewer = Depends(viewer)) -> Response:
    return dossier_page(v, code)


def _act(v: Viewer, code: str, csrf: str, act: Callable[[], Any], posted: dict[str, str] | None = None) -> Response:
    """Run one form's write; back to the dossier, or the dossier with the refusal on it."""
    v.check_csrf(csrf)
    try:
        act()
    except ZhenggaiError as exc:
        if isinstance(exc, NotFound):
            raise
        return dossier_page(v, code, error=exc, status=exc.http_status, posted=posted)
    return RedirectResponse(f"/ui/issues/{code}", status_code=303)


def _version(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


@router.post("/issues/{code}/measures")
def add_measure(
    code: str = Code,
    text: str = Form(default="", max_length=20_000),
    owner: str = Form(default="", max_length=128),
    due_date: str = Form(default="", max_length=10),
    target: str = Form(default="", max_length=500),
    version: str = Form(default="", max_length=12),
    csrf: str = Form(default=""),
    v: Viewer = Depends(viewer),
) -> Response:
    return _act(
        v,
        code,
        csrf,
        lambda: v.engine.add_measure(
            code,
            text,
            owner=owner or None,
            due_date=due_date or None,
            target=target or None,
            actor=v.actor,
            expected_version=_version(version),
        ),
        {"form": "measure", "text": text, "target": target},
    )


@router.post("/issues/{code}/measures/{no}/done")
def complete_measure(
    code: str = Code,
    no: int = PathParam(ge=1, le=10_000),
    comment: str = Form(default="", max_length=20_000),
    version: str = Form(default="", max_length=12),
    csrf: str = Form(default=""),
    v: Viewer = Depends(viewer),
) -> Response:
    return _act(
        v,
        code,
        csrf,
        lambda: v.engine.complete_measure(
            code, no, comment=comment or None, actor=v.actor, expected_version=_version(version)
        ),
    )


@router.post("/issues/{code}/evidence")
def add_evidence(
    code: str = Code,
    file: UploadFile | None = File(default=None),
    note: str = Form(default="", max_length=20_000),
    measure_no: str = Form(default="", max_length=6),
    version: str = Form(default="", max_length=12),
    csrf: str = Form(default=""),
    v: Viewer = Depends(viewer),
) -> Response:
    """An uploaded file, kept here content-addressed and recorded with its SHA-256."""

    def run() -> None:
        if file is None or not file.filename:
            raise InvalidInput(Text("请选择要上传的文件", "choose a file to upload"), field="file")
        v.engine.issue(code, v.actor)  # the scope is checked before anything is kept
        ext = files.extension(file.filename, v.settings)
        data = file.file.read(v.settings.max_upload + 1)
        uri, sha = files.store(data, ext, v.settings)
        v.engine.add_evidence(
            code,
            uri,
            sha,
            note=note or file.filename,
            actor=v.actor,
            measure_no=int(measure_no) if measure_no.isdigit() else None,
            expected_version=_version(version),
        )

    return _act(v, code, csrf, run)


@router.post("/issues/{code}/signoffs")
def sign_off(
    code: str = Code,
    role: str = Form(default="", max_length=64),
    comment: str = Form(default="", max_length=20_000),
    version: str = Form(default="", max_length=12),
    csrf: str = Form(default=""),
    v: Viewer = Depends(viewer),
) -> Response:
    return _act(
        v,
        code,
        csrf,
        lambda: v.engine.sign_off(
            code, role, comment=comment or None, actor=v.actor, expected_version=_version(version)
        ),
        {"form": "signoff", "comment": comment},
    )


@router.post("/issues/{code}/fire")
def fire(
    code: str = Code,
    trigger: str = Form(default="", max_length=64),
    comment: str = Form(default="", max_length=20_000),
    version: str = Form(default="", max_length=12),
    csrf: str = Form(default=""),
    v: Viewer = Depends(viewer),
) -> Response:
    return _act(
        v,
        code,
        csrf,
        lambda: v.engine.fire(
            code, trigger, comment=comment or None, actor=v.actor, expected_version=_version(version)
        ),
        {"trigger": trigger, "comment": comment},
    )


def _dates(raw: str) -> dict[str, str]:
    """Measures' new dates typed as ``2=2026-09-15, 3=2026-09-30``; the engine checks them."""
    out: dict[str, str] = {}
    for part in raw.replace("，", ",").split(","):
        if part.strip():
            no, _, day = part.partition("=")
            if not day:
                raise InvalidInput(
                    Text(f"措施时限应写作 措施号=日期：{part.strip()}", f"write a measure's date as NO=DATE: {part.strip()}"),
                    field="measure_dates",
                )
            out[no.strip()] = day.strip()
    return out


@router.post("/issues/{code}/deadline-changes")
def request_extension(
    code: str = Code,
    due_date: str = Form(default="", max_length=10),
    reason: str = Form(default="", max_length=20_000),
    category: str = Form(default="", max_length=64),
    measure_dates: str = Form(default="", max_length=2_000),
    version: str = Form(default="", max_length=12),
    csrf: str = Form(default=""),
    v: Viewer = Depends(viewer),
) -> Response:
    """延期申请: the owner asks for a later deadline, with a reason."""
    return _act(
        v,
        code,
        csrf,
        lambda: v.engine.request_extension(
            code, due_date, reason=reason, category=category or None, measure_dates=_dates(measure_dates),
            actor=v.actor, expected_version=_version(version),
        ),
        {"form": "extension", "due_date": due_date, "reason": reason, "measure_dates": measure_dates},
    )


@router.post("/issues/{code}/deadline-changes/decision")
def decide_extension(
    code: str = Code,
    decision: str = Form(default="", pattern=r"^(approve|refuse)$"),
    comment: str = Form(default="", max_length=20_000),
    version: str = Form(default="", max_length=12),
    csrf: str = Form(default=""),
    v: Viewer = Depends(viewer),
) -> Response:
    """The inspection office approves or refuses the pending deadline change."""
    return _act(
        v,
        code,
        csrf,
        lambda: v.engine.decide_extension(
            code, approve=decision == "approve", comment=comment or None, actor=v.actor,
            expected_version=_version(version),
        ),
        {"form": "decision", "comment": comment},
    )


@router.get("/issues/{code}/files/{sha}")
def download(
    code: str = Code, sha: str = PathParam(pattern=r"^[0-9a-f]{64}$"), v: Viewer = Depends(viewer)
) -> Response:
    """A kept evidence file, through the issue's scope check, only ever as a download."""
    issue = v.engine.issue(code, v.actor)
    for e in issue.evidence or []:
        kept = files.STORED_RE.match(e["uri"])
        # only the file this evidence recorded: the kept file's name is its hash, and must be
        # the hash the engine recorded (a URI naming another issue's file is not that file)
        if kept and e["sha256"] == sha == kept.group(1):
            path = files.path_of(e["uri"], v.settings)
            return FileResponse(
                path,
                media_type="application/octet-stream",
                filename=f"{code}-{sha[:12]}{path.suffix}",
                content_disposition_type="attachment",
                headers={**v.headers(), "Content-Security-Policy": "sandbox; default-src 'none'"},
            )
    raise NotFound(Text(f"问题 {code} 没有这份证据", f"issue {code} has no such evidence"))
