"""What every signed route shares: who is calling (:func:`authenticated`, a dependency), and
the answer given once per ``Idempotency-Key`` (:func:`answer`), with ``If-Match`` and the
``ETag`` of an issue.

Authentication runs before the route: a request that is not signed by a known client, freshly,
never reaches the engine.  An idempotent POST claims its key before it runs, in the engine's
database; a retry then gets the first answer back, or 409 while the first attempt still runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import Header, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ..engine.errors import ConcurrentUpdate, InvalidInput, ZhenggaiError
from ..i18n import Text
from .clients import request_target
from .problems import PROBLEM, problem, problem_from
from .store import ApiStore

if TYPE_CHECKING:
    from ..engine.actors import Actor
    from ..engine.service import Engine
    from .clients import Clients

IDEMPOTENCY_STALE = timedelta(minutes=5)  # a claim this old with no answer: its attempt died
#: an issue's or a round's code in a path
IssueCode = PathParam(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")


@dataclass(frozen=True)
class Call:
    """An authenticated request: who speaks, for whom, what was sent, and to which engine."""

    engine: Engine
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


async def authenticated(
    request: Request,
    idempotency_key: str | None = Header(default=None, max_length=200),
    if_match: str | None = Header(default=None, max_length=100),
    prefer: str | None = Header(default=None, max_length=200),
) -> Call:
    """The dependency of every signed route: the client and the actor it speaks for."""
    clients: Clients = request.app.state.clients
    body = await request.body()
    target = request_target(request)
    client, actor = await run_in_threadpool(clients.authenticate, request.method, target, body, request.headers)
    request.state.authenticated = True
    minimal = "return=minimal" in (prefer or "").replace(" ", "")
    return Call(
        request.app.state.engine,
        client.name,
        actor,
        request.method,
        target,
        body,
        idempotency_key,
        _if_match(if_match),
        minimal,
    )


def answer(
    call: Call,
    status: int,
    fn: Callable[[str | None], Any],
    headers: Callable[[Any], dict[str, str]] | None = None,
) -> Response:
    """Run ``fn``; with an Idempotency-Key, once: a retry gets the first answer back.

    ``fn`` is given the request id the engine records the write under (None without a key):
    the client and a token made for the claim.  A retry that takes over a claim whose attempt died
    passes the same id, so the engine finds the write if it was committed and does not make it
    twice; a key used again after it was forgotten (a day on) makes a new claim, so a new
    request, as a key's expiry means.  The key's fingerprint holds the method, target, body,
    actor, ``Prefer`` and ``If-Match``.  An answer that changed nothing because the issue had
    moved on (412, or a concurrent 409) is not kept: the retry, with the version read again,
    may go ahead under the same key."""
    if call.idempotency_key is None:
        result = fn(None)
        return JSONResponse(result, status_code=status, headers=headers(result) if headers else None)
    engine, client, key = call.engine, call.client, call.idempotency_key
    who = json.dumps([call.actor.id, sorted(call.actor.roles), sorted(call.actor.scope), call.minimal, call.if_match])
    digest = hashlib.sha256(
        b"\n".join([call.method.encode(), call.target.encode(), call.body, who.encode()])
    ).hexdigest()
    now = engine.clock.now()
    with engine.transaction(write=True) as conn:
        store = ApiStore(conn)
        claim, mine = store.claim_request(client, key, digest, now)
        if (
            not mine
            and claim.request_hash == digest
            and claim.status is None
            and store.take_over_request(claim.id, now - IDEMPOTENCY_STALE, now)
        ):
            mine = True  # the first attempt died without answering
    if not mine:
        if claim.request_hash != digest:
            return problem(
                422,
                "idempotency_key_reused",
                Text("该 Idempotency-Key 已用于另一个请求", "this Idempotency-Key was used for a different request"),
                field="Idempotency-Key",
            )
        if claim.status is None or claim.response is None:
            return problem(
                409,
                "request_in_progress",
                Text("同一请求正在处理，请稍后重试", "the same request is still being processed; retry shortly"),
            )
        stored = json.loads(claim.response)
        return JSONResponse(
            stored["body"],
            status_code=claim.status,
            media_type=stored.get("media_type", "application/json"),
            headers={**stored.get("headers", {}), "Idempotency-Replayed": "true"},
        )
    try:
        # a claim made before claims kept their request id: the id its attempt was given
        request_id = claim.request_id or f"{client}:{hashlib.sha256(key.encode()).hexdigest()[:40]}"
        result = fn(request_id)
        response: Response = JSONResponse(result, status_code=status, headers=headers(result) if headers else None)
        body, media = result, "application/json"
    except ZhenggaiError as exc:
        response = problem_from(exc, if_match=call.if_match is not None)
        body, media = json.loads(response.body), PROBLEM
        if isinstance(exc, ConcurrentUpdate):  # nothing changed: let the retry go ahead
            _release(engine, client, key)
            return response
    except Exception:
        _release(engine, client, key)
        raise
    if response.status_code >= 500:
        _release(engine, client, key)
        return response
    kept = {k: v for k, v in response.headers.items() if k.lower() in ("etag", "location")}
    with engine.transaction(write=True) as conn:
        ApiStore(conn).finish_request(
            client,
            key,
            response.status_code,
            json.dumps({"body": body, "media_type": media, "headers": kept}, ensure_ascii=False),
        )
    return response


def _release(engine: Engine, client: str, key: str) -> None:
    with engine.transaction(write=True) as conn:
        ApiStore(conn).release_request(client, key)


def issue_out(call: Call, code: str) -> dict[str, Any]:
    """The issue as the caller may see it."""
    return call.engine.issue(code, call.actor).to_dict()


def etag(view: dict[str, Any]) -> dict[str, str]:
    return {"ETag": f'"{view["version"]}"'}


def issue_write(call: Call, code: str, act: Callable[[int | None, str | None], Any], status: int = 200) -> Response:
    """An edit of one issue: If-Match checked by the engine in the edit's transaction (``act``
    is given the version expected and the request id); the answer is the issue as it now is,
    with its new ETag."""

    def run(request_id: str | None) -> dict[str, Any]:
        act(call.if_match, request_id)
        return issue_out(call, code)

    return answer(call, status, run, etag)
