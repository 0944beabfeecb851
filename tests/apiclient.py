"""A small client that signs requests the way the README tells an OA system to: what a Java
or .NET host reimplements in a few lines.  Tests use it against a real server."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import requests

from zhenggai.api import signing


class SignedAuth(requests.auth.AuthBase):
    """Signs each prepared request (its final method, target and body) for one acting user."""

    def __init__(self, client: str, secret: str, user: str, roles: list[str], scope: list[str] | None = None) -> None:
        self.client, self.secret, self.user, self.roles, self.scope = client, secret, user, roles, scope or ["*"]

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        parts = urlsplit(r.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        r.headers.update(
            signing.signed_headers(
                self.secret,
                self.client,
                r.method or "GET",
                target,
                body,
                user=self.user,
                roles=self.roles,
                scope=self.scope,
                headers=r.headers,
            )
        )
        return r


class Api:
    """``api.post("/rounds", {...})`` as one user of one client."""

    def __init__(
        self, base: str, client: str, secret: str, user: str, roles: list[str], scope: list[str] | None = None
    ):
        self.base = base
        self.session = requests.Session()
        self.session.auth = SignedAuth(client, secret, user, roles, scope)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.base + path, timeout=30, **kw)

    def post(self, path: str, body: Any = None, *, headers: dict[str, str] | None = None) -> requests.Response:
        data = json.dumps({} if body is None else body, ensure_ascii=False).encode("utf-8")
        return self.session.post(
            self.base + path, data=data, headers={"Content-Type": "application/json", **(headers or {})}, timeout=30
        )
