"""The HTTP API: FastAPI routes that authenticate, call the Engine and shape the answer.

No rule lives here.  Each route authenticates the request (:mod:`.clients`), calls one Engine
method as the actor the OA system asserted, and turns the result — or the engine's refusal —
into JSON (errors as ``application/problem+json``).  POSTs honour ``Idempotency-Key``; writes
to an issue honour ``If-Match`` with the ETag a read returned.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..engine.actors import Actor
from ..engine.errors import ConcurrentUpdate, InvalidInput, ZhenggaiError
from ..i18n import Text
from ..storage.repository import Repository
from . import models as m
from .clients import Clients, Unauthenticated

log = logging.getLogger("zhenggai.api")

MAX_BODY = 1 << 20  # 1 MB: evidence is stored by reference, so no request needs more
PROBLEM = "application/problem+json"
STATUS = {
    "invalid_input": 422,
    "import_invalid": 422,
    "workflow_invalid": 422,
    "refused": 409,
    "not_found": 404,
    "forbidden": 403,
    "concurrent_update": 409,
    "busy": 503,
    "storage_unavailable": 503,
    "unavailable": 501,
    "unauthenticated": 401,
}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": m.Problem, "content": {PROBLEM: {}}, "description": desc}
    for status, desc in {
        401: "not signed, stale, replayed or an unknown client",
        403: "outside the actor's scope, or beyond what the client may assert",
        404: "no such round, issue or workflow",
        409: "refused by the workflow (every failed rule listed), or changed concurrently",
        412: "If-Match names a version the issue no longer has",
        413: "the body is larger than 1 MB",
        422: "a field is missing, of the wrong type or out of range (named in `field`)",
        503: "the database is busy or unreachable; nothing was written",
    }.items()
}
IDEMPOTENCY_STALE = timedelta(minutes=5)


def problem(status: int, code: str, text: Text, **extra: Any) -> JSONResponse:
    body = {
        "type": f"urn:zhenggai:problem:{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": text.render(),
        "message": text.to_dict(),
        **{k: v for k, v in extra.items() if v is not None},
    }
    headers = {"Retry-After": "1"} if status == 503 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def problem_from(exc: ZhenggaiError, *, if_match: bool = False) -> JSONResponse:
    details = exc.to_dict()
    details.pop("code", None)
    details.pop("message", None)
    status = 412 if isinstance(exc, ConcurrentUpdate) and if_match else STATUS.get(exc.code, 400)
    code = "precondition_failed" if status == 412 else exc.code
    return problem(status, code, exc.text, **details)


class BodyLimit:
    """Refuse a body over ``MAX_BODY`` before reading it all (Content-Length or streamed)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        too_big = Text("请求体超过 1 MB", "the request body is larger than 1 MB")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return await problem(413, "payload_too_large", too_big)(scope, receive, send)
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await problem(413, "payload_too_large", too_big)(scope, receive, send)


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class Call:
    """An authenticated request: who speaks, for whom, and what was sent."""

    client: str
    actor: Actor
    method: str
    target: str
    body: bytes
    idempotency_key: str | None
    if_match: int | None
    minimal: bool = False  # Prefer: return=minimal


def _if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise InvalidInput(
            Text("If-Match 应为问题的 ETag", "If-Match must be an ETag the API returned"), field="If-Match"
        )
    return int(tag)


def create_app(engine: Any) -> FastAPI:
    """The ASGI app over ``engine`` (``zhenggai serve`` builds one from the environment)."""
    clients = Clients(engine)
    app = FastAPI(
        title="zhenggai",
        version="1",
        summary="整改 — rectification of inspection and audit findings, tracked until closed (销号)",
        description=(
            "Every request except /health and /ready is signed by the calling OA system: "
            "X-Zhenggai-Client, X-Zhenggai-Actor, X-Zhenggai-Timestamp, X-Zhenggai-Nonce and X-Zhenggai-Signature "
            "(HMAC-SHA256; see the README). Errors are application/problem+json with a stable `code`."
        ),
        responses=ERRORS,
    )
    app.add_middleware(BodyLimit)

    @app.exception_handler(ZhenggaiError)
    async def engine_error(request: Request, exc: ZhenggaiError) -> JSONResponse:
        return problem_from(exc, if_match="if-match" in request.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "reason": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        first = errors[0]["field"] if errors else None
        text = Text(f"请求参数有误：{first}", f"invalid request: {first}")
        return problem(422, "invalid_input", text, field=first, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, Text(str(exc.detail), str(exc.detail)))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", Text("服务内部错误，已记录", "internal error; it has been logged"))

    async def authenticated(
        request: Request,
        idempotency_key: str | None = Header(default=None, max_length=200),
        if_match: str | None = Header(default=None, max_length=100),
        prefer: str | None = Header(default=None, max_length=200),
    ) -> Call:
        body = await request.body()
        # exactly the request target as received: the path and the raw query string FastAPI
        # reads its parameters from (not a parsed URL, which would stop at a "#")
        raw = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string") or b""
        target = (raw + (b"?" + query if query else b"")).decode("latin-1")
        if "#" in target:
            raise InvalidInput(Text("请求目标不能含 #", "the request target must not contain #"), field="target")
        client, actor = await run_in_threadpool(clients.authenticate, request.method, target, body, request.headers)
        minimal = "return=minimal" in (prefer or "").replace(" ", "")
        return Call(client.name, actor, request.method, target, body, idempotency_key, _if_match(if_match), minimal)

    def answer(
        call: Call, status: int, fn: Callable[[], Any], headers: Callable[[Any], dict[str, str]] | None = None
    ) -> Response:
        """Run ``fn``; with an Idempotency-Key, once: a retry gets the first answer back."""
        if call.idempotency_key is None:
            result = fn()
            return JSONResponse(result, status_code=status, headers=headers(result) if headers else None)
        who = json.dumps([call.actor.id, sorted(call.actor.roles), sorted(call.actor.scope), call.minimal])
        digest = hashlib.sha256(
            b"\n".join([call.method.encode(), call.target.encode(), call.body, who.encode()])
        ).hexdigest()
        now = engine.clock.now()
        with engine.transaction(write=True) as conn:
            repo = Repository(conn)
            earlier = repo.claim_request(call.client, call.idempotency_key, digest, now)
            if (
                earlier is not None
                and earlier.request_hash == digest
                and earlier.status is None
                and repo.take_over_request(earlier.id, now - IDEMPOTENCY_STALE, now)
            ):
                earlier = None  # the first attempt died without answering
        if earlier is not None:
            if earlier.request_hash != digest:
                return problem(
                    422,
                    "idempotency_key_reused",
                    Text(
                        "该 Idempotency-Key 已用于另一个请求", "this Idempotency-Key was used for a different request"
                    ),
                    field="Idempotency-Key",
                )
            if earlier.status is None:
                return problem(
                    409,
                    "request_in_progress",
                    Text("同一请求正在处理，请稍后重试", "the same request is still being processed; retry shortly"),
                )
            stored = json.loads(earlier.response)
            return JSONResponse(
                stored["body"],
                status_code=earlier.status,
                media_type=stored.get("media_type", "application/json"),
                headers={**stored.get("headers", {}), "Idempotency-Replayed": "true"},
            )
        try:
            result = fn()
            response: Response = JSONResponse(result, status_code=status, headers=headers(result) if headers else None)
            body, media = result, "application/json"
        except ZhenggaiError as exc:
            response = problem_from(exc, if_match=call.if_match is not None)
            body, media = json.loads(response.body), PROBLEM
        except Exception:
            with engine.transaction(write=True) as conn:
                Repository(conn).release_request(call.client, call.idempotency_key)
            raise
        if response.status_code >= 500:
            with engine.transaction(write=True) as conn:
                Repository(conn).release_request(call.client, call.idempotency_key)
            return response
        kept = {k: v for k, v in response.headers.items() if k.lower() in ("etag", "location")}
        with engine.transaction(write=True) as conn:
            Repository(conn).finish_request(
                call.client,
                call.idempotency_key,
                response.status_code,
                json.dumps({"body": body, "media_type": media, "headers": kept}, ensure_ascii=False),
            )
        return response

    def issue_out(code: str, actor: Actor) -> dict[str, Any]:
        return engine.issue(code, actor).to_dict()

    def etag(view: dict[str, Any]) -> dict[str, str]:
        return {"ETag": f'"{view["version"]}"'}

    def issue_write(call: Call, code: str, act: Callable[[int | None], Any], status: int = 200) -> Response:
        """An edit of one issue: If-Match checked by the engine in the edit's transaction."""

        def run() -> dict[str, Any]:
            act(call.if_match)
            return issue_out(code, call.actor)

        return answer(call, status, run, etag)

    IssueCode = PathParam(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,63}$")

    # --- service ------------------------------------------------------------------------

    @app.get("/health", response_model=m.Health, tags=["service"])
    def health() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/ready", response_model=m.Health, tags=["service"])
    def ready() -> dict[str, str]:
        """The database answers and its schema is current."""
        engine.workflows()
        return {"status": "ok"}

    # --- workflows ----------------------------------------------------------------------

    @app.get("/workflows", response_model=list[m.Workflow], tags=["workflows"])
    def workflows(call: Call = Depends(authenticated)) -> list[dict[str, Any]]:
        return [w.to_dict() for w in engine.workflows()]

    @app.get("/workflows/{name}", tags=["workflows"], responses={200: {"content": {"text/yaml": {}}}})
    def workflow(
        name: str = PathParam(max_length=64),
        version: int | None = Query(default=None, ge=1, le=1_000_000),
        call: Call = Depends(authenticated),
    ) -> Response:
        """The deployed definition, as the YAML it was deployed from."""
        return Response(engine.workflow(name, version).source, media_type="text/yaml")

    @app.get("/workflows/{name}/diagram", tags=["workflows"], responses={200: {"content": {"text/plain": {}}}})
    def diagram(
        name: str = PathParam(max_length=64),
        version: int | None = Query(default=None, ge=1, le=1_000_000),
        call: Call = Depends(authenticated),
    ) -> Response:
        """The state machine as a Mermaid diagram."""
        from ..engine.diagram import mermaid

        return Response(mermaid(engine.workflow(name, version)), media_type="text/plain")

    # --- rounds -------------------------------------------------------------------------

    @app.get("/rounds", response_model=list[m.Round], tags=["rounds"])
    def rounds(call: Call = Depends(authenticated)) -> list[dict[str, Any]]:
        return engine.rounds(call.actor)

    @app.post("/rounds", status_code=201, response_model=m.Round, tags=["rounds"])
    def open_round(body: m.RoundIn, call: Call = Depends(authenticated)) -> Response:
        return answer(call, 201, lambda: engine.open_round(**body.model_dump(), actor=call.actor))

    @app.get("/rounds/{code}", response_model=m.Round, tags=["rounds"])
    def round_(code: str = IssueCode, call: Call = Depends(authenticated)) -> dict[str, Any]:
        return engine.round(code, call.actor)

    @app.get("/rounds/{code}/stats", response_model=m.Open, tags=["rounds"])
    def stats(
        code: str = IssueCode,
        by: str | None = Query(default=None, pattern="^(unit|category|source|state)$"),
        call: Call = Depends(authenticated),
    ) -> dict[str, Any]:
        """Counts, completion rates, overdue, supervised, lights and the weekly burn-down, for the
        issues inside the actor's scope."""
        return engine.stats(code, actor=call.actor, by=by)

    @app.get(
        "/rounds/{code}/ledger",
        tags=["rounds"],
        responses={
            200: {"content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}
        },
    )
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
            engine.export_ledger(
                code, out, actor=call.actor, fmt=format, states=state, categories=category, lights=light,
                sources=source, unit=unit,
            )  # fmt: skip
            media = (
                "text/csv" if format == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            )
            return Response(
                out.read_bytes(),
                media_type=media,
                headers={"Content-Disposition": f'attachment; filename="{code}-ledger.{format}"'},
            )

    # --- issues -------------------------------------------------------------------------

    @app.get("/issues", response_model=m.IssuePage, tags=["issues"])
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
        items = engine.issues(
            call.actor, round_code=round, states=state, categories=category, owner=owner, lights=light, limit=limit,
            offset=offset,
        )  # fmt: skip
        return {"items": [v.to_dict() for v in items], "limit": limit, "offset": offset}

    @app.post("/rounds/{code}/issues", status_code=201, response_model=m.Issue, tags=["issues"])
    def add_issue(body: m.IssueIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
        def run() -> dict[str, Any]:
            data = body.model_dump()
            issue_code = data.pop("code")
            engine.add_issue(code, issue_code, **data, actor=call.actor)
            return issue_out(issue_code, call.actor)

        return answer(call, 201, run, etag)

    @app.get("/issues/{code}", response_model=m.Issue, tags=["issues"])
    def issue(code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
        """An issue with its measures, evidence, sign-offs, mechanisms, and each trigger from its
        state: available to this actor, or the reasons it is not."""
        view = issue_out(code, call.actor)
        return JSONResponse(view, headers=etag(view))

    @app.get("/issues/{code}/explain", response_model=m.Explanation, tags=["issues"])
    def explain(
        code: str = IssueCode,
        trigger: str | None = Query(default=None, max_length=64, pattern=r"^[a-z][a-z0-9_]*$"),
        call: Call = Depends(authenticated),
    ) -> dict[str, Any]:
        """Why the issue can or cannot move: each trigger from its state (or the one asked),
        each role and guard judged as a fire would, the period and the workflow version."""
        return engine.explain(code, trigger, actor=call.actor).to_dict()

    @app.post("/issues/{code}/measures", response_model=m.Issue, tags=["issues"])
    def add_measure(body: m.MeasureIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
        return issue_write(
            call, code, lambda v: engine.add_measure(code, **body.model_dump(), actor=call.actor, expected_version=v)
        )

    @app.post("/issues/{code}/measures/{no}/done", response_model=m.Issue, tags=["issues"])
    def complete_measure(
        body: m.CommentIn,
        code: str = IssueCode,
        no: int = PathParam(ge=1, le=10_000),
        call: Call = Depends(authenticated),
    ) -> Response:
        return issue_write(
            call,
            code,
            lambda v: engine.complete_measure(code, no, comment=body.comment, actor=call.actor, expected_version=v),
        )

    @app.post("/issues/{code}/evidence", response_model=m.Issue, tags=["issues"])
    def add_evidence(body: m.EvidenceIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
        return issue_write(
            call, code, lambda v: engine.add_evidence(code, **body.model_dump(), actor=call.actor, expected_version=v)
        )

    @app.post("/issues/{code}/signoffs", response_model=m.Issue, tags=["issues"])
    def sign_off(body: m.SignoffIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
        return issue_write(
            call,
            code,
            lambda v: engine.sign_off(code, body.role, comment=body.comment, actor=call.actor, expected_version=v),
        )

    @app.post("/issues/{code}/mechanisms", response_model=m.Issue, tags=["issues"])
    def add_mechanism(body: m.MechanismIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
        return issue_write(
            call, code, lambda v: engine.add_mechanism(code, **body.model_dump(), actor=call.actor, expected_version=v)
        )

    @app.post("/issues/{code}/assignment", response_model=m.Issue, tags=["issues"])
    def assign(body: m.AssignIn, code: str = IssueCode, call: Call = Depends(authenticated)) -> Response:
        return issue_write(
            call, code, lambda v: engine.assign(code, **body.model_dump(), actor=call.actor, expected_version=v)
        )

    @app.post("/issues/{code}/transitions/{trigger}", response_model=m.Issue | m.Moved, tags=["issues"])
    def fire(
        body: m.TransitionIn,
        code: str = IssueCode,
        trigger: str = PathParam(pattern=r"^[a-z][a-z0-9_]{0,63}$"),
        call: Call = Depends(authenticated),
    ) -> Response:
        """Fire a trigger.  A refusal (409) lists every failed rule: role, required field, guard.
        The answer is the issue's detail, or with ``Prefer: return=minimal`` only where it went
        (states, event number, new version) — half the work for a busy OA system."""
        key = call.idempotency_key
        request_id = f"{call.client}:{hashlib.sha256(key.encode()).hexdigest()[:40]}" if key else None

        def move(expected: int | None) -> Any:
            return engine.fire(
                code, trigger, actor=call.actor, role=body.role, comment=body.comment, request_id=request_id,
                expected_version=expected,
            )  # fmt: skip

        if call.minimal:
            return answer(
                call,
                200,
                lambda: move(call.if_match).to_dict(),
                lambda r: {"ETag": f'"{r["version"]}"', "Preference-Applied": "return=minimal"},
            )
        return issue_write(call, code, move)

    @app.get("/issues/{code}/history", response_model=m.History, tags=["issues"])
    def history(
        code: str = IssueCode, verify: bool = Query(default=False), call: Call = Depends(authenticated)
    ) -> dict[str, Any]:
        """Every event on the issue's hash chain; with ``verify``, the chain checked against the issue."""
        out: dict[str, Any] = {"events": engine.history(code, call.actor)}
        if verify:
            out["verification"] = engine.verify(code, call.actor).to_dict()
        return out

    # --- escalation ---------------------------------------------------------------------

    @app.post("/sweep", response_model=m.Open, tags=["escalation"])
    def sweep(body: m.SweepIn, call: Call = Depends(authenticated)) -> Response:
        """Apply the escalation rules whose time has come (for an OA system's own scheduler);
        needs the ``system`` or ``admin`` role over every unit (scope ``*``); a future ``as_of``
        only as a dry run."""
        from ..engine.actors import ALL_ORGS
        from ..engine.errors import Forbidden

        if not call.actor.roles & {"system", "admin"} or ALL_ORGS not in call.actor.scope:
            raise Forbidden(
                Text(
                    "只有组织范围为全部（*）的 system 或 admin 角色可以运行督办扫描",
                    "only the system or admin role with scope * may run the sweep",
                )
            )
        if body.as_of is not None and not body.dry_run and body.as_of > engine.clock.now().date():
            raise InvalidInput(
                Text("只能预演（dry_run）未来日期的扫描", "a sweep as of a future date may only be a dry run"),
                field="as_of",
            )
        return answer(call, 200, lambda: engine.sweep(body.as_of, dry_run=body.dry_run).to_dict())

    app.state.clients = clients
    app.state.engine = engine
    _ = Unauthenticated  # raised by clients.authenticate, mapped to 401 through STATUS
    return app


def app_from_env() -> FastAPI:
    """The app ``zhenggai serve`` runs in each worker: the database from ``ZHENGGAI_DB``,
    notifiers from the environment, as for the command line."""
    import os

    from ..cli import Ctx
    from ..i18n import current_lang

    return create_app(Ctx(db=os.environ.get("ZHENGGAI_DB"), lang=current_lang(), json=False, as_of=None).engine())
