"""Errors as the API answers them: RFC 9457 problem details (``application/problem+json``)
with a stable machine ``code`` and the message in both languages.

An engine error brings its HTTP status with it (``ZhenggaiError.http_status``; the table is in
:mod:`zhenggai.engine.errors`), so no table of statuses is kept here.  The one status decided
here is 412: a concurrent change the caller's ``If-Match`` asked to be told about.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..engine.errors import ConcurrentUpdate, StorageUnavailable, ZhenggaiError
from ..i18n import Text
from . import models as m

log = logging.getLogger("zhenggai.api")

MAX_BODY = 1 << 20  # 1 MB: evidence is stored by reference, so no request needs more
PROBLEM = "application/problem+json"
#: the error answers every route may give, for the OpenAPI document
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
    """The answer to an engine error: its own status, or 412 for a concurrent change the
    request's ``If-Match`` guarded against."""
    details = exc.to_dict()
    details.pop("code", None)
    details.pop("message", None)
    if isinstance(exc, ConcurrentUpdate) and if_match:
        return problem(412, "precondition_failed", exc.text, **details)
    if isinstance(exc, StorageUnavailable):  # the database's address is the operators', not the callers'
        log.error("database unavailable: %s", exc.text.en)
        text = Text(
            "数据库暂不可用，未做任何修改，请稍后重试", "the database is unavailable; nothing was written, retry later"
        )
        return problem(exc.http_status, exc.code, text)
    return problem(exc.http_status, exc.code, exc.text, **details)


def install(app: FastAPI) -> None:
    """Every error the app can meet, answered as a problem; anything unforeseen logged, 500."""

    @app.exception_handler(ZhenggaiError)
    async def engine_error(request: Request, exc: ZhenggaiError) -> JSONResponse:
        return problem_from(exc, if_match="if-match" in request.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # a body that is not JSON is refused before the route's dependencies run: who sent it is
        # asked first, so an unsigned or forged request learns nothing of what the API accepts
        if not getattr(request.state, "authenticated", False):
            refused = await _unauthenticated(request)
            if refused is not None:
                return refused
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


async def _unauthenticated(request: Request) -> JSONResponse | None:
    """The problem to answer if the request is not signed by a known client, else None."""
    from starlette.concurrency import run_in_threadpool

    from .clients import request_target

    clients = request.app.state.clients
    try:
        body = await request.body()
        await run_in_threadpool(clients.authenticate, request.method, request_target(request), body, request.headers)
    except ZhenggaiError as exc:
        return problem_from(exc)
    return None


class BodyLimit:
    """Refuse a body over ``MAX_BODY`` before the app sees any of it: by its Content-Length, or,
    for a streamed (chunked) body, as soon as what has arrived passes the limit.  The body is
    read here, at most 1 MB, and handed to the app whole."""

    def __init__(self, app: ASGIApp, larger: tuple[tuple[re.Pattern[str], int], ...] = ()) -> None:
        self.app = app
        self.larger = larger  # (path pattern, limit): the console's evidence upload route only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        limit = next((n for pattern, n in self.larger if pattern.fullmatch(path)), MAX_BODY)
        length = dict(scope.get("headers") or []).get(b"content-length")
        mb = f"{limit / (1 << 20):g}"
        too_big = problem(
            413, "payload_too_large", Text(f"请求体超过 {mb} MB", f"the request body is larger than {mb} MB")
        )
        too_big.headers["Connection"] = "close"  # the rest of the body is not read: the connection cannot go on
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await too_big(scope, receive, send)
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away before sending it all
                return
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > limit:
                return await too_big(scope, receive, send)
            if not message.get("more_body", False):
                break
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: a disconnect, when it comes

        await self.app(scope, replay, send)
