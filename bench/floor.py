"""The HTTP floor for bench/api.py: the same server stack (gunicorn, uvicorn workers, FastAPI, the
bounded HTTP protocol) answering the same signed transition with the same PostgreSQL reads and
writes, in hand-written SQL and no engine.

Per request, as the engine does it: the client's row read, the signature checked with the
library's own signing, the signature remembered (one insert that does nothing on a replay) —
one transaction; then the issue's head read and locked, the measures and sign-offs read for
``submit_self_check`` (the guards' facts), the head updated and the event appended with its
hash — a second transaction.  No workflow, guards, roles, scope, history rules or JSON models:
what is left is the cost of the stack and the database, the least an engine could take.

    python bench/floor.py --db URL --port PORT --workers N     (bench/api.py starts it)
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import queue
from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

MOVES = {"submit_self_check": ("in_progress", "self_checked"), "send_back": ("self_checked", "in_progress")}


def app_from_env() -> Any:
    from zhenggai.api import signing
    from zhenggai.api.clients import secret_for

    url = os.environ["ZHENGGAI_FLOOR_DB"]
    pool: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()

    def conn() -> psycopg.Connection:
        try:
            return pool.get_nowait()
        except queue.Empty:
            return psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), prepare_threshold=0)

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    def problem(status: int, code: str) -> Response:
        return Response(json.dumps({"code": code}), status, media_type="application/problem+json")

    @app.post("/issues/{code}/transitions/{trigger}")
    async def fire(code: str, trigger: str, request: Request) -> Response:
        raw = await request.body()
        return await run_in_threadpool(transition, code, trigger, request.url.path, request.headers, raw)

    def transition(code: str, trigger: str, target: str, h: Any, raw: bytes) -> Response:
        name, actor, ts, nonce, sig = (h.get(k, "") for k in (signing.CLIENT, signing.ACTOR, signing.TIMESTAMP,
                                                                signing.NONCE, signing.SIGNATURE))  # fmt: skip
        body = json.loads(raw)
        c = conn()
        try:
            with c.transaction():
                row = c.execute("SELECT generation, revoked_at FROM api_clients WHERE name = %s", (name,)).fetchone()
                if row is None or row[1] is not None:
                    return problem(401, "unauthenticated")
                want = signing.sign(secret_for(name, row[0]), "POST", target, raw, ts, nonce, name, actor, signing.covered_values(h))  # fmt: skip
                if not hmac.compare_digest(want, sig):
                    return problem(401, "unauthenticated")
                fresh = c.execute(
                    "INSERT INTO api_nonces (signature, client, seen_at) VALUES (%s, %s, %s) "
                    "ON CONFLICT (signature) DO NOTHING RETURNING signature",
                    (want, name, datetime.fromtimestamp(int(ts), UTC).replace(tzinfo=None)),
                ).fetchone()
                if fresh is None:
                    return problem(401, "unauthenticated")
            source, dest = MOVES[trigger]
            now = datetime.now(UTC).replace(tzinfo=None)
            with c.transaction():
                head = c.execute(
                    "SELECT id, state, state_seq, seq, last_hash, version FROM issues WHERE code = %s FOR UPDATE",
                    (code,),
                ).fetchone()
                if head is None:
                    return problem(404, "not_found")
                issue_id, state, state_seq, seq, last_hash, version = head
                if state != source:
                    return problem(409, "guard_failed")
                if trigger == "submit_self_check":
                    c.execute(
                        "SELECT id, done_at FROM measures WHERE issue_id = %s ORDER BY no", (issue_id,)
                    ).fetchall()
                    c.execute("SELECT id, role FROM signoffs WHERE issue_id = %s ORDER BY id", (issue_id,)).fetchall()
                comment = body.get("comment")
                values = [
                    seq + 1,
                    "transition",
                    trigger,
                    source,
                    dest,
                    "li",
                    body.get("role"),
                    now.isoformat(),
                    comment,
                ]
                digest = hashlib.sha256((last_hash + json.dumps(values, ensure_ascii=False)).encode()).hexdigest()
                c.execute(
                    "UPDATE issues SET state = %s, state_seq = %s, state_entered_at = %s, state_entered_by = %s, "
                    "last_activity_at = %s, seq = %s, last_hash = %s, version = %s WHERE id = %s AND version = %s",
                    (dest, state_seq + 1, now, "li", now, seq + 1, digest, version + 1, issue_id, version),
                )
                c.execute(
                    "INSERT INTO events (issue_id, seq, kind, trigger, from_state, to_state, actor_id, role, at, "
                    "comment, data, request_id, prev_hash, hash, key_id) "
                    "VALUES (%s, %s, 'transition', %s, %s, %s, 'li', %s, %s, %s, '{}', NULL, %s, %s, NULL) RETURNING id",
                    (issue_id, seq + 1, trigger, source, dest, body.get("role"), now, comment, last_hash, digest),
                ).fetchone()
        finally:
            pool.put(c)
        answer = {"code": code, "trigger": trigger, "source": source, "dest": dest, "version": version + 1}
        return Response(json.dumps(answer), 200, media_type="application/json", headers={"ETag": f'"{version + 1}"'})

    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    os.environ["ZHENGGAI_FLOOR_DB"] = args.db
    from zhenggai.api.gunicorn import run

    run("127.0.0.1", args.port, args.workers, "warning", 60, app="floor:app_from_env")


if __name__ == "__main__":
    main()
