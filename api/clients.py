"""OA systems allowed to call the API, and the check every request passes before the engine
sees it.

A client's secret is never stored: it is ``HMAC(server key, "zhenggai-client:<name>:<generation>")``,
the server key coming from ``ZHENGGAI_API_KEY`` (configuration, not the database).  The
database keeps only what the client may assert — the roles and org scopes its users may hold —
so a client cannot raise its users above what the administrator granted it.

That grant is sealed with the same key (``grant_mac``: an HMAC over the name, roles, scopes,
generation and whether it is revoked), so a grant written or widened behind the API — a
crafted backup restored, a database writer — does not verify, and its requests are refused
until an administrator checks it and seals it again (``zhenggai client seal``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from ..engine.actors import ALL_ORGS, Actor, need_outside_actor
from ..engine.errors import Forbidden, InvalidInput, NotFound, Refused, Unavailable, ZhenggaiError
from ..i18n import Text
from . import signing
from .store import ApiStore, ClientRecord, Duplicate

if TYPE_CHECKING:
    from ..engine.core import Core
    from ..engine.service import Engine

KEY_ENV = "ZHENGGAI_API_KEY"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SIGNATURE_RE = re.compile(r"^[0-9A-Fa-f]{64}$")
WINDOW = timedelta(minutes=5)  # how far a timestamp may be from the server's clock
#: how far the nodes' clocks may disagree before a replay could pass one of them
CLOCK_SKEW = timedelta(minutes=5)


def request_target(request: Request) -> str:
    """Exactly the request target as received, as it was signed: the path and the raw query
    string FastAPI reads its parameters from (not a parsed URL, which would stop at a "#")."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    target = (raw + (b"?" + query if query else b"")).decode("latin-1")
    if "#" in target:
        raise InvalidInput(Text("请求目标不能含 #", "the request target must not contain #"), field="target")
    return target


class Unauthenticated(ZhenggaiError):
    """The request is not signed by a known client, or not freshly: 401.  Only the HTTP
    service raises it; were it ever to reach the command line, it would exit 1."""

    code = "unauthenticated"
    http_status = 401


@dataclass(frozen=True)
class Client:
    name: str
    roles: frozenset[str]
    scopes: tuple[str, ...]
    generation: int
    created_at: datetime
    revoked_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "roles": sorted(self.roles),
            "scopes": list(self.scopes),
            "generation": self.generation,
            "created_at": self.created_at.isoformat(),
            "revoked": self.revoked_at is not None,
        }


def client_of(row: ClientRecord) -> Client:
    """The client a stored row describes."""
    return _client(row)


def _client(row: ClientRecord) -> Client:
    return Client(
        row.name,
        frozenset(json.loads(row.roles)),
        tuple(json.loads(row.scopes)),
        row.generation,
        row.created_at,
        row.revoked_at,
    )


MIN_KEY_BITS = 100  # what the key's characters can carry, estimated from their frequencies


def key_weakness(key: str) -> Text | None:
    """Why ``key`` is too weak to derive every client's secret from, or None.

    The estimate is the key's length times the Shannon entropy of its characters' frequencies:
    ``openssl rand -hex 32`` gives about 240 bits, 32 random letters and digits about 150, while
    ``aaaa…``, ``0000…`` or a block repeated come far below."""
    if len(key) < 32:
        return Text(f"不足 32 个字符（{len(key)} 个）", f"shorter than 32 characters ({len(key)})")
    if any(ch.isspace() or ord(ch) < 32 for ch in key):
        return Text("含空白或控制字符", "it holds spaces or control characters")
    if key in (key + key)[1:-1]:
        return Text("由一段较短的字符重复而成", "it is a shorter string repeated")
    counts = Counter(key)
    bits = -sum(n * math.log2(n / len(key)) for n in counts.values())
    if bits < MIN_KEY_BITS:
        return Text(
            f"字符变化太少（约 {bits:.0f} 位，至少需 {MIN_KEY_BITS} 位）",
            f"too little variety in it (about {bits:.0f} bits; at least {MIN_KEY_BITS} are needed)",
        )
    return None


def server_key() -> bytes:
    key = os.environ.get(KEY_ENV, "")
    if not key:
        raise Unavailable(
            Text(
                f"未设置服务密钥：请在环境变量 {KEY_ENV} 中设置至少 32 个字符的随机串",
                f"no server key: set {KEY_ENV} to a random string of at least 32 characters",
            )
        )
    weak = key_weakness(key)
    if weak is not None:
        raise InvalidInput(
            Text(
                f"服务密钥 {KEY_ENV} 太弱：{weak.zh}；每个接入系统的密钥都由它派生，请用 openssl rand -hex 32 生成",
                f"the server key {KEY_ENV} is too weak: {weak.en}; every client's secret derives from it: "
                "make one with openssl rand -hex 32",
            ),
            field=KEY_ENV,
        )
    return key.encode("utf-8")


def grant_mac(key: bytes, name: str, roles: str, scopes: str, generation: int, revoked: bool) -> str:
    """The seal of a client's grant (the JSON of its roles and scopes as stored)."""
    message = "\n".join(["zhenggai-grant", name, roles, scopes, str(generation), "revoked" if revoked else "active"])
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def grant_verifies(row: ClientRecord, key: bytes) -> bool:
    want = grant_mac(key, row.name, row.roles, row.scopes, row.generation, row.revoked_at is not None)
    return row.grant_mac is not None and hmac.compare_digest(want, row.grant_mac)


def secret_for(name: str, generation: int, key: bytes | None = None) -> str:
    return hmac.new(key or server_key(), f"zhenggai-client:{name}:{generation}".encode(), hashlib.sha256).hexdigest()


def need_client_admin(actor: Actor) -> None:
    """Only an administrator manages clients (asked before the client store is)."""
    if "admin" not in actor.roles:
        raise Forbidden(Text("只有管理员（admin）可以管理接入系统", "only an administrator (admin) manages clients"))


def grants_refusal(core: Core) -> Text | None:
    """Why the clients of a database (a backup about to be restored) cannot be trusted: a grant
    that does not verify, or grants that cannot be checked without the server key; or None."""
    with core.transaction() as conn:
        rows = ApiStore(conn).api_clients()
    if not rows:
        return None
    if not os.environ.get(KEY_ENV):
        return Text(
            f"其中有 {len(rows)} 个接入系统，未设置 {KEY_ENV} 无法核对其授权",
            f"it holds {len(rows)} API clients, whose grants cannot be checked without {KEY_ENV}",
        )
    key = server_key()
    bad = [r.name for r in rows if not grant_verifies(r, key)]
    if bad:
        return Text(
            f"接入系统 {', '.join(bad)} 的授权未通过校验（被绕过 zhenggai 修改）",
            f"the grants of API clients {', '.join(bad)} do not verify (changed outside zhenggai)",
        )
    return None


class Clients:
    """Add, list, rotate and revoke clients; authenticate requests."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, name: str, *, roles: list[str], scopes: list[str], by: str) -> tuple[Client, str]:
        """Register a client; returns it with its secret (shown once, never stored)."""
        if not NAME_RE.match(name or ""):
            raise InvalidInput(
                Text(
                    "客户端名称应为字母、数字或 . _ -（至多 64 个）",
                    "a client name is letters, digits or . _ - (64 at most)",
                ),
                field="name",
            )
        if not roles:
            raise InvalidInput(Text("至少允许一个角色", "allow at least one role"), field="roles")
        try:
            Actor(name, frozenset(roles), tuple(scopes or [ALL_ORGS]))  # the same checks as any actor
        except ValueError as exc:
            raise InvalidInput(Text(str(exc), str(exc)), field="scopes") from None
        key = server_key()
        now = self.engine.clock.now()
        with self.engine.transaction(write=True) as conn:
            store = ApiStore(conn)
            roles_json = json.dumps(sorted(set(roles)))
            scopes_json = json.dumps(list(scopes or [ALL_ORGS]), ensure_ascii=False)
            try:
                store.insert_api_client(
                    name=name,
                    roles=roles_json,
                    scopes=scopes_json,
                    generation=1,
                    created_at=now,
                    created_by=by,
                    grant_mac=grant_mac(key, name, roles_json, scopes_json, 1, False),
                )
            except Duplicate:
                raise InvalidInput(
                    Text(f"客户端 {name} 已存在", f"client {name} already exists"), field="name"
                ) from None
            client = _client(self._existing(store, name))
        return client, secret_for(name, 1, key)

    def list(self) -> list[Client]:
        with self.engine.transaction() as conn:
            return [_client(r) for r in ApiStore(conn).api_clients()]

    def rotate(self, name: str) -> str:
        """A new secret; the old one stops working at once.  A revoked client stays revoked:
        rotating is not a way back in (add it again, under a new name, if it is to return)."""
        key = server_key()
        with self.engine.transaction(write=True) as conn:
            store = ApiStore(conn)
            row = self._existing(store, name)
            if row.revoked_at is not None:
                raise Refused(
                    Text(
                        f"客户端 {name} 已被吊销，不能更换密钥",
                        f"client {name} is revoked; its secret cannot be rotated",
                    ),
                    [
                        (
                            "revoked",
                            Text("被吊销的接入系统不会因更换密钥而恢复", "rotating never brings a revoked client back"),
                        )
                    ],
                )
            generation = row.generation + 1
            store.rotate_api_client(name, generation, grant_mac(key, name, row.roles, row.scopes, generation, False))
            return secret_for(name, generation, key)

    def revoke(self, name: str) -> None:
        key = server_key()
        with self.engine.transaction(write=True) as conn:
            store = ApiStore(conn)
            row = self._existing(store, name)
            mac = grant_mac(key, name, row.roles, row.scopes, row.generation, True)
            store.revoke_api_client(name, self.engine.clock.now(), mac)

    def seal(self, name: str) -> Client:
        """Seal a client's grant as it now stands (an administrator who checked it: a client
        made before grants were sealed, or one whose grant failed to verify)."""
        key = server_key()
        with self.engine.transaction(write=True) as conn:
            store = ApiStore(conn)
            row = self._existing(store, name)
            mac = grant_mac(key, name, row.roles, row.scopes, row.generation, row.revoked_at is not None)
            store.seal_api_client(name, mac)
            return _client(row)

    def unsealed(self) -> list[str]:
        """The clients whose grant does not verify (the audit's check of the API's own rows)."""
        key = server_key()
        with self.engine.transaction() as conn:
            return [r.name for r in ApiStore(conn).api_clients() if not grant_verifies(r, key)]

    @staticmethod
    def _existing(store: ApiStore, name: str) -> ClientRecord:
        row = store.api_client(name)
        if row is None:
            raise NotFound(Text(f"没有客户端 {name}", f"no client {name}"))
        return row

    def authenticate(self, method: str, target: str, body: bytes, headers: Mapping[str, str]) -> tuple[Client, Actor]:
        """The client and the actor a request speaks for, or why not.

        In order: the four headers, a known and unrevoked client, a timestamp inside the
        window, the signature, a signature not seen before (replay), then the actor within
        what the client may assert."""
        wanted = (signing.CLIENT, signing.ACTOR, signing.TIMESTAMP, signing.NONCE, signing.SIGNATURE)
        values = [headers.get(h) for h in wanted]
        if not all(values):
            raise Unauthenticated(
                Text("请求未签名：缺少 X-Zhenggai-* 请求头", "the request is not signed: X-Zhenggai-* headers missing"),
                reason="missing_headers",
            )
        name, actor_header, ts, nonce, signature = (str(v) for v in values)
        if not NONCE_RE.match(nonce):
            raise Unauthenticated(
                Text(
                    "X-Zhenggai-Nonce 应为 8-64 个字母、数字、- 或 _",
                    "X-Zhenggai-Nonce must be 8-64 letters, digits, - or _",
                ),
                reason="missing_headers",
            )
        if not SIGNATURE_RE.match(signature):
            raise Unauthenticated(Text("签名格式不正确", "the signature is not 64 hex digits"), reason="signature")
        now = self.engine.clock.now()
        with self.engine.transaction() as conn:  # reading only: a forged request writes nothing
            row = ApiStore(conn).api_client(name)
        if row is None or row.revoked_at is not None:
            raise Unauthenticated(
                Text(f"未知或已吊销的客户端 {name}", f"unknown or revoked client {name}"), reason="client"
            )
        if not grant_verifies(row, server_key()):
            raise Unauthenticated(
                Text(
                    f"客户端 {name} 的授权未通过校验（被绕过 zhenggai 修改，或在授权封存之前创建）："
                    f"请管理员核对后运行 zhenggai client seal {name}",
                    f"the grant of client {name} does not verify (changed outside zhenggai, or made before "
                    f"grants were sealed): an administrator checks it, then runs zhenggai client seal {name}",
                ),
                reason="grant",
            )
        try:
            sent = datetime.fromtimestamp(int(ts), now.tzinfo)
        except (ValueError, OverflowError, OSError):
            raise Unauthenticated(
                Text("时间戳无效", "the timestamp is not a number of seconds"), reason="stale"
            ) from None
        if abs(now - sent) > WINDOW:
            raise Unauthenticated(
                Text(
                    "时间戳超出允许范围（±5 分钟），请求已过期",
                    "the timestamp is more than 5 minutes off: stale request",
                ),
                reason="stale",
            )
        covered = signing.covered_values(headers)
        want = signing.sign(
            secret_for(name, row.generation), method, target, body, ts, nonce, name, actor_header, covered
        )
        if not hmac.compare_digest(want.encode(), signature.lower().encode()):
            raise Unauthenticated(Text("签名不正确", "the signature does not match"), reason="signature")
        with self.engine.transaction(write=True) as conn:
            fresh = ApiStore(conn).remember_signature(want, name, sent, now, now - WINDOW - CLOCK_SKEW)
        if not fresh:
            raise Unauthenticated(
                Text("重复的请求（重放）", "this signed request was seen before (replay)"), reason="replay"
            )
        client = _client(row)
        return client, self._actor(client, actor_header)

    @staticmethod
    def actor_within_grant(client: Client, header: str) -> Actor:
        """The actor an ``X-Zhenggai-Actor`` value names, if the client's grant allows it (the
        API's requests and the console's login tickets)."""
        return Clients._actor(client, header)

    @staticmethod
    def _actor(client: Client, header: str) -> Actor:
        try:
            if len(header) > 8192:
                raise ValueError("longer than 8192 characters")
            data = signing.decode_actor(header)
            user, roles, scope = data.get("id"), data.get("roles", []), data.get("scope", [ALL_ORGS])
            if not isinstance(user, str):
                raise ValueError("id is text")
            if not (isinstance(roles, list) and all(isinstance(r, str) for r in roles)):
                raise ValueError("roles is a list of names")
            if not (isinstance(scope, list) and all(isinstance(p, str) for p in scope)):
                raise ValueError("scope is a list of org paths")
            actor = need_outside_actor(Actor(user, frozenset(roles), tuple(scope)))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise InvalidInput(
                Text(f"操作人信息无效：{exc}", f"the actor header is not valid: {exc}"), field="actor"
            ) from None
        beyond = sorted(actor.roles - client.roles)
        if beyond:
            raise Forbidden(
                Text(
                    f"客户端 {client.name} 不能声明角色 {', '.join(beyond)}",
                    f"client {client.name} may not assert the role(s) {', '.join(beyond)}",
                ),
                reason="role_not_allowed",
            )
        granted = Actor(client.name, client.roles, client.scopes)
        outside = [s for s in actor.scope if not (ALL_ORGS in granted.scope or (s != ALL_ORGS and granted.covers(s)))]
        if outside:
            raise Forbidden(
                Text(
                    f"客户端 {client.name} 不能声明组织范围 {', '.join(outside)}",
                    f"client {client.name} may not assert the org scope {', '.join(outside)}",
                ),
                reason="scope_not_allowed",
            )
        return actor
