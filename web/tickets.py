"""Login tickets: how an OA system signs its user into the console without a second password.

A ticket is ``v1.<payload>.<signature>``: the payload is base64url JSON ``{"c": client,
"a": actor, "exp": seconds, "n": nonce}`` (``a`` is the actor exactly as the API's
``X-Zhenggai-Actor`` header carries it), the signature the hex HMAC-SHA256 of
``"zhenggai-ticket\\n" + payload`` under the client's secret.  A ticket lives at most two
minutes, is good once (its signature is remembered as a signed request's is), and names only
roles and scopes the client's grant allows — the same check as every signed request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from ..api.clients import CLOCK_SKEW, WINDOW, Client, Clients, Unauthenticated, client_of, grant_verifies, server_key
from ..api.clients import secret_for as client_secret
from ..api.signing import encode_actor
from ..api.store import ApiStore
from ..engine.actors import Actor
from ..i18n import Text

TICKET_LIFE = timedelta(minutes=2)  # the longest a ticket may live
SKEW = timedelta(seconds=30)  # how far the OA system's clock may run ahead of ours
TICKET_RE = re.compile(r"^v1\.([A-Za-z0-9_-]{8,12000})\.([0-9a-f]{64})$")


def _mac(secret: str, payload: str) -> str:
    return hmac.new(secret.encode("utf-8"), f"zhenggai-ticket\n{payload}".encode(), hashlib.sha256).hexdigest()


def make_ticket(
    secret: str,
    client: str,
    *,
    user: str,
    roles: Iterable[str],
    scope: Iterable[str] = ("*",),
    lifetime: int = 60,
    now: float | None = None,
    nonce: str | None = None,
) -> str:
    """What the OA system does for its user (a dozen lines in any language: see the README)."""
    payload = {
        "c": client,
        "a": encode_actor(user, roles, scope),
        "exp": int((time.time() if now is None else now) + lifetime),
        "n": nonce or secrets.token_urlsafe(16),
    }
    raw = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"v1.{raw}.{_mac(secret, raw)}"


def _refused(zh: str, en: str, reason: str) -> Unauthenticated:
    return Unauthenticated(Text(f"登录票据无效：{zh}", f"the login ticket is refused: {en}"), reason=reason)


def check_ticket(clients: Clients, ticket: str) -> tuple[Client, Actor]:
    """The client and the actor a ticket signs in, or why not (forged, expired, reused, beyond
    the grant, or of a revoked client).  Only a ticket that passes is remembered as used."""
    m = TICKET_RE.match(ticket or "")
    if not m:
        raise _refused("格式不正确", "it is not a zhenggai ticket", "format")
    raw, signature = m.groups()
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        name, actor_header, exp, nonce = str(data["c"]), str(data["a"]), int(data["exp"]), str(data["n"])
    except (ValueError, KeyError, TypeError, OverflowError):
        raise _refused("内容无法解析", "its payload cannot be read", "format") from None
    if not 8 <= len(nonce) <= 64:
        raise _refused("随机串长度应为 8-64", "its nonce must be 8-64 characters", "format")
    engine = clients.engine
    now = engine.clock.now()
    with engine.transaction() as conn:
        row = ApiStore(conn).api_client(name)
    if row is None or row.revoked_at is not None:
        raise _refused(f"未知或已吊销的客户端 {name}", f"unknown or revoked client {name}", "client")
    key = server_key()
    if not grant_verifies(row, key):
        raise _refused(f"客户端 {name} 的授权未通过校验", f"the grant of client {name} does not verify", "grant")
    if not hmac.compare_digest(_mac(client_secret(name, row.generation, key), raw), signature):
        raise _refused("签名不正确", "the signature does not match", "signature")
    if exp - now.timestamp() > (TICKET_LIFE + SKEW).total_seconds():  # before any date is made of it
        raise _refused("有效期超过 2 分钟", "it is valid for longer than two minutes", "lifetime")
    expires = datetime.fromtimestamp(exp, now.tzinfo)
    if expires <= now:
        raise _refused("已过期", "it has expired", "expired")
    if expires - now > TICKET_LIFE + SKEW:
        raise _refused("有效期超过 2 分钟", "it is valid for longer than two minutes", "lifetime")
    client = client_of(row)
    actor = Clients.actor_within_grant(client, actor_header)
    with engine.transaction(write=True) as conn:
        fresh = ApiStore(conn).remember_signature(signature, name, expires, now, now - WINDOW - CLOCK_SKEW)
    if not fresh:
        raise _refused("已被使用过（每张票据只能登录一次）", "it was used before (a ticket signs in once)", "reused")
    return client, actor
