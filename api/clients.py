"""OA systems allowed to call the API, and the check every request passes before the engine
sees it.

A client's secret is never stored: it is ``HMAC(server key, "zhenggai-client:<name>:<generation>")``,
the server key coming from ``ZHENGGAI_API_KEY`` (configuration, not the database).  The
database keeps only what the client may assert — the roles and org scopes its users may hold —
so a client cannot raise its users above what the administrator granted it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..engine.actors import ALL_ORGS, Actor
from ..engine.errors import Forbidden, InvalidInput, NotFound, Unavailable, ZhenggaiError
from ..i18n import Text
from . import signing
from .store import ApiStore, ClientRecord, Duplicate

if TYPE_CHECKING:
    from ..engine.service import Engine

KEY_ENV = "ZHENGGAI_API_KEY"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SIGNATURE_RE = re.compile(r"^[0-9A-Fa-f]{64}$")
WINDOW = timedelta(minutes=5)  # how far a timestamp may be from the server's clock


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


def _client(row: ClientRecord) -> Client:
    return Client(
        row.name,
        frozenset(json.loads(row.roles)),
        tuple(json.loads(row.scopes)),
        row.generation,
        row.created_at,
        row.revoked_at,
    )


def server_key() -> bytes:
    key = os.environ.get(KEY_ENV, "")
    if len(key) < 32:
        raise Unavailable(
            Text(
                f"未设置服务密钥：请在环境变量 {KEY_ENV} 中设置至少 32 个字符的随机串",
                f"no server key: set {KEY_ENV} to a random string of at least 32 characters",
            )
        )
    return key.encode("utf-8")


def secret_for(name: str, generation: int, key: bytes | None = None) -> str:
    return hmac.new(key or server_key(), f"zhenggai-client:{name}:{generation}".encode(), hashlib.sha256).hexdigest()


def need_client_admin(actor: Actor) -> None:
    """Only an administrator manages clients (asked before the client store is)."""
    if "admin" not in actor.roles:
        raise Forbidden(Text("只有管理员（admin）可以管理接入系统", "only an administrator (admin) manages clients"))


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
            try:
                store.insert_api_client(
                    name=name,
                    roles=json.dumps(sorted(set(roles))),
                    scopes=json.dumps(list(scopes or [ALL_ORGS]), ensure_ascii=False),
                    generation=1,
                    created_at=now,
                    created_by=by,
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
        """A new secret; the old one stops working at once."""
        key = server_key()
        with self.engine.transaction(write=True) as conn:
            store = ApiStore(conn)
            row = self._existing(store, name)
            store.rotate_api_client(name, row.generation + 1)
            return secret_for(name, row.generation + 1, key)

    def revoke(self, name: str) -> None:
        with self.engine.transaction(write=True) as conn:
            store = ApiStore(conn)
            self._existing(store, name)
            store.revoke_api_client(name, self.engine.clock.now())

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
            fresh = ApiStore(conn).remember_signature(want, name, now, now - 2 * WINDOW)
        if not fresh:
            raise Unauthenticated(
                Text("重复的请求（重放）", "this signed request was seen before (replay)"), reason="replay"
            )
        client = _client(row)
        return client, self._actor(client, actor_header)

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
            actor = Actor(user, frozenset(roles), tuple(scope))
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
