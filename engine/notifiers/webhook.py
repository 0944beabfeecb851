"""Webhooks by the Standard Webhooks specification: each notice POSTed as a CloudEvents JSON
envelope (:mod:`.envelope`), signed so that a receiver verifies it with a published library in
its language (``standardwebhooks`` on PyPI, npm, Maven …); and the OA "unified to-do" push, a
webhook of its own.

Headers of every delivery:

``webhook-id``
    the notice's id, percent-encoded to ASCII: the same on every retry, to de-duplicate on;
``webhook-timestamp``
    seconds since the epoch when it was sent (receivers refuse one over five minutes off);
``webhook-signature``
    ``v1,`` + Base64(HMAC-SHA256(key, ``id.timestamp.body``)).

The secret follows the specification's convention: ``whsec_`` + the Base64 of the key (give
receivers that string as it is).  A plain secret of at least 16 characters is also accepted:
its UTF-8 bytes are the key, and :func:`whsec` gives the string a receiver's library takes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Self

from ...i18n import Text
from ..errors import InvalidInput
from .base import DeliveryFailed, Notice, Notifier
from .envelope import DEFAULT_SOURCE, envelope

#: a receiver verifies with the secret, so a guessable one is refused (characters, or key bytes)
MIN_SECRET = 16
PREFIX = "whsec_"


def secret_key(secret: str | bytes) -> bytes:
    """The HMAC key a secret stands for: ``whsec_`` + Base64 decoded, a plain string's UTF-8
    bytes, bytes as they are.  Raises :class:`ValueError` for a ``whsec_`` that is not Base64."""
    if isinstance(secret, bytes):
        return secret
    if secret.startswith(PREFIX):
        try:
            return base64.b64decode(secret[len(PREFIX) :], validate=True)
        except binascii.Error as exc:
            raise ValueError(f"the part after whsec_ is not Base64: {exc}") from None
    return secret.encode("utf-8")


def whsec(secret: str | bytes) -> str:
    """The secret as Standard Webhooks libraries take it: ``whsec_`` + Base64 of the key."""
    return PREFIX + base64.b64encode(secret_key(secret)).decode("ascii")


def new_secret() -> str:
    """A fresh secret of 32 random bytes, in the ``whsec_`` form."""
    return whsec(secrets.token_bytes(32))


def sign(secret: str | bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,`` + Base64(HMAC-SHA256 over ``id.timestamp.body``)."""
    mac = hmac.new(secret_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def message_id(notice_id: str) -> str:
    """The ``webhook-id`` header for a notice id (headers are ASCII; issue codes may not be)."""
    return urllib.parse.quote(notice_id, safe=":-_.")


def signed_headers(secret: str | bytes, notice_id: str, body: bytes, now: float | None = None) -> dict[str, str]:
    msg_id, ts = message_id(notice_id), str(int(time.time() if now is None else now))
    return {
        "Content-Type": "application/json; charset=utf-8",
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": sign(secret, msg_id, ts, body),
    }


def _checked_secret(prefix: str, secret: str) -> bytes:
    field = f"{prefix}_SECRET"
    try:
        key = secret_key(secret)
    except ValueError as exc:
        raise InvalidInput(
            Text(f"{field} 以 whsec_ 开头时其后须为 Base64：{exc}", f"{field}: {exc}"), field=field
        ) from None
    if len(key) < MIN_SECRET:
        raise InvalidInput(
            Text(
                f"{field} 须至少 {MIN_SECRET} 个字符（接收方据此验证签名）",
                f"{field} must have at least {MIN_SECRET} characters (receivers verify with it)",
            ),
            field=field,
        )
    return key


class WebhookNotifier(Notifier):
    """POSTs each notice as a CloudEvents envelope, signed by Standard Webhooks (see the module).

    From the environment: ``ZHENGGAI_WEBHOOK_URL`` and ``ZHENGGAI_WEBHOOK_SECRET`` (``whsec_…``,
    or at least 16 characters), optionally ``ZHENGGAI_WEBHOOK_SOURCE`` (the envelope's
    ``source``, default ``/zhenggai``)."""

    name = "webhook"
    #: the environment variables are this prefix + ``_URL``, ``_SECRET`` and ``_SOURCE``
    env_prefix = "ZHENGGAI_WEBHOOK"

    def __init__(self, url: str, secret: str | bytes, timeout: float = 10.0, *, source: str = DEFAULT_SOURCE) -> None:
        self.url = url
        self.secret = secret_key(secret)
        self.timeout = timeout
        self.source = source

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self | None:
        prefix = cls.env_prefix
        url = env.get(f"{prefix}_URL")
        if not url:
            return None
        key = _checked_secret(prefix, env.get(f"{prefix}_SECRET", ""))
        return cls(url, key, source=env.get(f"{prefix}_SOURCE") or DEFAULT_SOURCE)

    def body(self, notice: Notice) -> bytes:
        return json.dumps(envelope(notice, self.source), ensure_ascii=False).encode("utf-8")

    def send(self, notice: Notice) -> None:
        body = self.body(notice)
        req = urllib.request.Request(
            self.url, data=body, method="POST", headers=signed_headers(self.secret, notice.id, body)
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            if not 200 <= resp.status < 300:
                raise DeliveryFailed(f"HTTP {resp.status}")


class OATodoNotifier(WebhookNotifier):
    """The OA "unified to-do" push: one to-do per issue and person (``data.todo.id``), opened for
    whoever must act next and marked done when the issue moves on.  Every message carries the
    issue's event ``seq`` and its time, so an OA system that applies a message only when its
    ``seq`` is newer than the one it holds is never set back by a late or retried message.

    From the environment: ``ZHENGGAI_OA_TODO_URL`` and ``ZHENGGAI_OA_TODO_SECRET``."""

    name = "oa_todo"
    env_prefix = "ZHENGGAI_OA_TODO"
    todos = True
