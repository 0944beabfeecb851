"""E-mail: a short bilingual message per notice, over SMTP."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Self

from ...i18n import Text
from ..errors import InvalidInput
from .base import DeliveryFailed, Notice, Notifier


class EmailNotifier(Notifier):
    """Sends a short bilingual e-mail; ``addresses`` maps user ids, ``role@unit`` and roles
    (in that order of preference) to addresses.

    From the environment: ``ZHENGGAI_SMTP_HOST`` [+ ``ZHENGGAI_SMTP_PORT`` (25),
    ``ZHENGGAI_SMTP_FROM`` (zhenggai@localhost), ``ZHENGGAI_EMAIL_ADDRESSES`` (JSON:
    ``{"user id" or "role@unit": "address"}``)]."""

    name = "email"

    def __init__(self, host: str, port: int, sender: str, addresses: dict[str, str], timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.addresses, self.timeout = host, port, sender, addresses, timeout

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self | None:
        host = env.get("ZHENGGAI_SMTP_HOST")
        if not host:
            return None
        try:
            addresses = json.loads(env.get("ZHENGGAI_EMAIL_ADDRESSES", "{}"))
            port = int(env.get("ZHENGGAI_SMTP_PORT", "25"))
        except ValueError as exc:
            raise InvalidInput(
                Text(f"邮件配置有误：{exc}", f"the e-mail settings are wrong: {exc}"),
                field="ZHENGGAI_EMAIL_ADDRESSES",
            ) from None
        return cls(host, port, env.get("ZHENGGAI_SMTP_FROM", "zhenggai@localhost"), addresses)

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
