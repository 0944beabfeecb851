"""Who is looking: the request's session, language and the console's settings."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ..engine.actors import Actor
from ..engine.errors import Forbidden, ZhenggaiError
from ..i18n import Text
from . import sessions
from .settings import UiSettings

if TYPE_CHECKING:
    from ..api.clients import Clients
    from ..engine.service import Engine

LANG_COOKIE = "zhenggai_lang"


class SignedOut(ZhenggaiError):
    """No live session: the page asks to sign in through the OA system again (401)."""

    code = "signed_out"
    http_status = 401


@dataclass(frozen=True)
class Viewer:
    engine: Engine
    clients: Clients
    settings: UiSettings
    session: sessions.Session | None
    lang: str
    path: str

    @property
    def actor(self) -> Actor:
        if self.session is None:
            raise SignedOut(
                Text(
                    "未登录或会话已结束：请从 OA 系统重新进入",
                    "not signed in, or the session ended: open the console from the OA system again",
                )
            )
        return self.session.actor

    def headers(self) -> dict[str, str]:
        return {
            "Content-Security-Policy": self.settings.csp(),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }

    def check_csrf(self, token: str | None) -> None:
        """Every form carries the session's token; a post without it (or with another) is refused."""
        want = self.session.csrf if self.session else ""
        if not (token and want and hmac.compare_digest(token.encode(), want.encode())):
            raise Forbidden(
                Text(
                    "表单令牌（CSRF）缺失或不符：请刷新页面后重试",
                    "the form's token (CSRF) is missing or wrong: reload the page and retry",
                ),
                reason="csrf",
            )

    def is_operator(self) -> bool:
        a = self.session.actor if self.session else None
        return a is not None and bool(a.roles & {"admin", "system"}) and "*" in a.scope


async def viewer(request: Request) -> Viewer:
    """The dependency of every console page."""
    state = request.app.state
    token = request.cookies.get(sessions.COOKIE)
    session = await run_in_threadpool(sessions.load, state.engine, token) if token else None
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return Viewer(
        state.engine, state.clients, state.settings, session, "en" if lang == "en" else "zh", request.url.path
    )
