"""The body every webhook delivery carries: a CloudEvents 1.0 event in its structured JSON form.

One stable envelope for the three kinds of notice, so a receiver routes on ``type`` and reads
``data`` without guessing::

    {
      "specversion": "1.0",
      "type": "zhenggai.issue.event",          # or zhenggai.todo.open / zhenggai.todo.done /
                                               #    zhenggai.escalation.<action>
      "source": "/zhenggai",                   # ZHENGGAI_WEBHOOK_SOURCE, to tell deployments apart
      "id": "P1:7:feed",                       # the notice's id: the same on every retry
      "time": "2026-03-10T10:00:00+08:00",     # when it happened (not when it was sent)
      "subject": "P1",                         # the issue's code
      "datacontenttype": "application/json",
      "data": {"recipient": {...}, ...}        # the notice itself, as documented in README
    }

``id`` with ``source`` is unique per notice (CloudEvents' rule), so receivers de-duplicate on
it; ``data.seq`` orders the notices of one issue.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .base import Notice

SPECVERSION = "1.0"
DEFAULT_SOURCE = "/zhenggai"
FEED_TYPE = "zhenggai.issue.event"


def event_type(payload: dict[str, Any]) -> str:
    """What kind of notice ``payload`` is: an event of the change feed, a to-do opened or done,
    or what an escalation rule did."""
    todo = payload.get("todo")
    if isinstance(todo, dict):
        return f"zhenggai.todo.{todo.get('action', 'open')}"
    if "rule" in payload or "action" in payload:
        return f"zhenggai.escalation.{payload.get('action') or 'notice'}"
    return FEED_TYPE


def occurred_at(payload: dict[str, Any]) -> str:
    """When the notice's occasion happened, as it was recorded; the sending time otherwise."""
    todo = payload.get("todo")
    for value in (payload.get("at"), todo.get("ts") if isinstance(todo, dict) else None, payload.get("fired_at")):
        if isinstance(value, str) and value:
            return value
    return datetime.now(UTC).isoformat(timespec="seconds")


def envelope(notice: Notice, source: str = DEFAULT_SOURCE) -> dict[str, Any]:
    """The CloudEvents structured-mode event for ``notice``."""
    payload = notice.payload
    return {
        "specversion": SPECVERSION,
        "type": event_type(payload),
        "source": source,
        "id": notice.id,
        "time": occurred_at(payload),
        "subject": str(payload.get("issue", "")),
        "datacontenttype": "application/json",
        "data": {"recipient": notice.recipient, **payload},
    }
