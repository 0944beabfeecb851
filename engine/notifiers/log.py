"""The log notifier: every notice written to the log, the one channel every engine has."""

from __future__ import annotations

import json
import logging

from .base import Notice, Notifier

log = logging.getLogger("zhenggai.notify")


class LogNotifier(Notifier):
    """Writes each notice to the log: the default, and a record in any setup."""

    name = "log"

    def send(self, notice: Notice) -> None:
        log.info("notice %s to %s: %s", notice.id, notice.recipient, json.dumps(notice.payload, ensure_ascii=False))
