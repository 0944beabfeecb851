"""How a request is signed: the one definition both the server and clients follow.

An OA system (a *client*) sends, on every request::

    X-Zhenggai-Client:    its name
    X-Zhenggai-Actor:     base64url(JSON {"id": user, "roles": [...], "scope": [...]})
    X-Zhenggai-Timestamp: seconds since the epoch
    X-Zhenggai-Nonce:     a fresh random string (8 to 64 letters, digits, - or _) per request
    X-Zhenggai-Signature: hex HMAC-SHA256(secret, string to sign)

and the string to sign is, joined by newlines: the method, the request target exactly as
sent (path and query), the hex SHA-256 of the body (of nothing for a GET), the timestamp, the
nonce, the client name, the actor header, and the values of the ``If-Match``,
``Idempotency-Key`` and ``Prefer`` headers (each the empty string when it is absent).  Each
part binds something a man in the middle or a replay could change: the signature covers who
acts, on what, with which body, when, against which version, under which key, for which
answer; the nonce lets the same request be made twice in one second without looking like a
replay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence

CLIENT = "X-Zhenggai-Client"
ACTOR = "X-Zhenggai-Actor"
TIMESTAMP = "X-Zhenggai-Timestamp"
NONCE = "X-Zhenggai-Nonce"
SIGNATURE = "X-Zhenggai-Signature"
#: the request headers the signature covers besides its own, in the order they are signed
COVERED = ("If-Match", "Idempotency-Key", "Prefer")
NONE_COVERED = ("", "", "")


def encode_actor(user: str, roles: Iterable[str], scope: Iterable[str] = ("*",)) -> str:
    raw = json.dumps({"id": user, "roles": sorted(roles), "scope": list(scope)}, ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_actor(header: str) -> dict[str, object]:
    padded = header + "=" * (-len(header) % 4)
    data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("the actor is not a JSON object")
    return data


def covered_values(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """The values of the :data:`COVERED` headers of a request (empty when absent); ``headers``
    is looked up by the names as written here (HTTP libraries' header maps ignore case)."""
    a, b, c = (headers.get(h) or "" for h in COVERED)
    return a, b, c


def string_to_sign(
    method: str,
    target: str,
    body: bytes,
    timestamp: str,
    nonce: str,
    client: str,
    actor: str,
    covered: Sequence[str] = NONE_COVERED,
) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join([method.upper(), target, digest, timestamp, nonce, client, actor, *covered]).encode("utf-8")


def sign(
    secret: str,
    method: str,
    target: str,
    body: bytes,
    timestamp: str,
    nonce: str,
    client: str,
    actor: str,
    covered: Sequence[str] = NONE_COVERED,
) -> str:
    message = string_to_sign(method, target, body, timestamp, nonce, client, actor, covered)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str,
    client: str,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    user: str,
    roles: Iterable[str],
    scope: Iterable[str] = ("*",),
    timestamp: int | None = None,
    nonce: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The five headers for one request (what a client library does before each send);
    ``headers`` are the request's other headers, whose :data:`COVERED` ones are signed too."""
    actor = encode_actor(user, roles, scope)
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(16)
    return {
        CLIENT: client,
        ACTOR: actor,
        TIMESTAMP: ts,
        NONCE: nonce,
        SIGNATURE: sign(secret, method, target, body, ts, nonce, client, actor, covered_values(headers or {})),
    }
