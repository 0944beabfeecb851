"""Webhooks: each notice POSTed as JSON, signed with HMAC-SHA256 so the receiver can verify
it; and the OA "unified to-do" push, a webhook of its own."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Self

from ...i18n import Text
from ..errors import InvalidInput
from .base import DeliveryFailed, Notice, Notifier

#: a receiver verifies with the secret, so a guessable one is refused
MIN_SECRET = 16


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The webhook signature: ``sha256=`` + HMAC-SHA256 over ``timestamp.body``."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookNotifier(Notifier):
    """POSTs the notice as JSON; headers ``X-Zhenggai-Id`` (percent-encoded), ``X-Zhenggai-Timestamp`` and
    ``X-Zhenggai-Signature`` (see :func:`sign`) let the receiver check it came from us.

    From the environment: ``ZHENGGAI_WEBHOOK_URL`` and ``ZHENGGAI_WEBHOOK_SECRET`` (at least
    16 characters)."""

    name = "webhook"
    #: the environment variables are this prefix + ``_URL`` and ``_SECRET``
    env_prefix = "ZHENGGAI_WEBHOOK"

    def __init__(self, url: str, secret: str | bytes, timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret.encode() if isinstance(secret, str) else secret
        self.timeout = timeout

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self | None:
        prefix = cls.env_prefix
        url = env.get(f"{prefix}_URL")
        if not url:
            return None
        secret = env.get(f"{prefix}_SECRET", "")
        if len(secret) < MIN_SECRET:
            raise InvalidInput(
                Text(
                    f"{prefix}_SECRET 须至少 {MIN_SECRET} 个字符（接收方据此验证签名）",
                    f"{prefix}_SECRET must have at least {MIN_SECRET} characters (receivers verify with it)",
                ),
                field=f"{prefix}_SECRET",
            )
        return cls(url, secret)

    def send(self, notice: Notice) -> None:
        body = json.dumps(
            {"id": notice.id, "recipient": notice.recipient, **notice.payload}, ensure_ascii=False
        ).encode("utf-8")
        ts = str(int(time.time()))
        req = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Zhenggai-Id": urllib.parse.quote(notice.id, safe=""),  # headers are ASCII; ids may not be
                "X-Zhenggai-Timestamp": ts,
                "X-Zhenggai-Signature": sign(self.secret, ts, body),
            },
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            if not 200 <= resp.status < 300:
                raise DeliveryFailed(f"HTTP {resp.status}")


class OATodoNotifier(WebhookNotifier):
    """The OA "unified to-do" push: one to-do per issue and person (``todo.id``), opened for
    whoever must act next and marked done when the issue moves on.  Every message carries the
    issue's event ``seq`` and its time, so an OA system that applies a message only when its
    ``seq`` is newer than the one it holds is never set back by a late or retried message.

    From the environment: ``ZHENGGAI_OA_TODO_URL`` and ``ZHENGGAI_OA_TODO_SECRET``."""

    name = "oa_todo"
    env_prefix = "ZHENGGAI_OA_TODO"
