"""Notifiers: where escalation notices go once they leave the outbox.

Notices are written to the outbox in the same transaction as the event that caused them
(see ``Engine.sweep``); ``Engine.deliver`` later hands each to the notifier named by its
channel, with retries and exponential backoff, and marks it delivered or, after the last
attempt, dead (``zhenggai outbox list`` / ``retry``).  Delivery is at least once: a process
that dies after sending but before recording it sends again, so every notice carries a
stable ``id`` receivers can de-duplicate on.

Notifiers are classes registered by name, like APScheduler's executors: ``log`` (always
there), ``webhook`` (HTTP POST of JSON, signed with HMAC-SHA256 so the receiver can verify
it), ``email`` (SMTP), ``oa_todo`` (an OA system's unified to-do list).  A host adds its own
with ``engine.notifiers.add(...)``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import time
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

log = logging.getLogger("zhenggai.notify")


@dataclass(frozen=True)
class Notice:
    id: str  # stable across retries: receivers de-duplicate on it
    channel: str
    recipient: dict[str, Any]  # {"user": id} or {"role": name, "unit": path}
    payload: dict[str, Any]


class DeliveryFailed(Exception):
    """A notice could not be delivered this time; it will be retried."""


class Notifier(ABC):
    name: str = "notifier"

    @abstractmethod
    def send(self, notice: Notice) -> None:
        """Deliver or raise (any exception counts as a failed attempt)."""


class LogNotifier(Notifier):
    """Writes each notice to the log: the default, and a record in any setup."""

    name = "log"

    def send(self, notice: Notice) -> None:
        log.info("notice %s to %s: %s", notice.id, notice.recipient, json.dumps(notice.payload, ensure_ascii=False))


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The webhook signature: ``sha256=`` + HMAC-SHA256 over ``timestamp.body``."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookNotifier(Notifier):
    """POSTs the notice as JSON; headers ``X-Zhenggai-Id`` (percent-encoded), ``X-Zhenggai-Timestamp`` and
    ``X-Zhenggai-Signature`` (see :func:`sign`) let the receiver check it came from us."""

    name = "webhook"

    def __init__(self, url: str, secret: str | bytes, timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret.encode() if isinstance(secret, str) else secret
        self.timeout = timeout

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
    ``seq`` is newer than the one it holds is never set back by a late or retried message."""

    name = "oa_todo"


class EmailNotifier(Notifier):
    """Sends a short bilingual e-mail; ``addresses`` maps user ids, ``role@unit`` and roles
    (in that order of preference) to addresses."""

    name = "email"

    def __init__(self, host: str, port: int, sender: str, addresses: dict[str, str], timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.addresses, self.timeout = host, port, sender, addresses, timeout

    def send(self, notice: Notice) -> None:
        rcp = notice.recipient
        keys = [rcp["user"]] if rcp.get("user") else [f"{rcp.get('role')}@{rcp.get('unit')}", str(rcp.get("role"))]
        to = next((self.addresses[k] for k in keys if k in self.addresses), None)
        if not to:  # undeliverable: fail, so that it ends up dead and visible, never silently "delivered"
            raise DeliveryFailed(f"no e-mail address for {' or '.join(keys)}")
        msg = EmailMessage()
        msg["From"], msg["To"] = self.sender, to
        msg["Subject"] = notice.payload.get("subject", "zhenggai")
        msg["Message-ID"] = f"<{notice.id}@zhenggai>"
        msg.set_content(notice.payload.get("text", ""))
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(msg)


class NotifierRegistry:
    def __init__(self) -> None:
        self._by_name: dict[str, Notifier] = {"log": LogNotifier()}

    def add(self, notifier: Notifier, *, name: str | None = None) -> None:
        self._by_name[name or notifier.name] = notifier

    def get(self, name: str) -> Notifier | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return sorted(self._by_name)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``first`` after the first failure, doubling, at most ``cap``."""

    attempts: int = 8
    first: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=2)

    def delay(self, attempts_so_far: int) -> timedelta:
        return min(self.cap, self.first * (2 ** max(0, attempts_so_far - 1)))
