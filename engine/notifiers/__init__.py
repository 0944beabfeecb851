"""Notifiers: where escalation notices go once they leave the outbox.

Notifier types are classes registered by name, like APScheduler's executors: ``log`` (always
there), ``webhook`` (HTTP POST of JSON, signed with HMAC-SHA256 so the receiver can verify
it), ``oa_todo`` (an OA system's unified to-do list), ``email`` (SMTP).  Importing this package
registers them, in that order, as a plugin registers its own (:func:`register_notifier`, or
the ``zhenggai.notifiers`` entry point group).  A host adds a configured instance to an engine
with ``engine.notifiers.add(...)``.
"""

from __future__ import annotations

from .base import PLUGIN_GROUP, DeliveryFailed, Notice, Notifier, RetryPolicy, notifier_types, register_notifier
from .channels import NotifierRegistry, configured_notifiers
from .email import EmailNotifier
from .log import LogNotifier
from .webhook import OATodoNotifier, WebhookNotifier, sign

register_notifier(LogNotifier)
register_notifier(WebhookNotifier)
register_notifier(OATodoNotifier)
register_notifier(EmailNotifier)

__all__ = [
    "PLUGIN_GROUP",
    "DeliveryFailed",
    "EmailNotifier",
    "LogNotifier",
    "Notice",
    "Notifier",
    "NotifierRegistry",
    "OATodoNotifier",
    "RetryPolicy",
    "WebhookNotifier",
    "configured_notifiers",
    "notifier_types",
    "register_notifier",
    "sign",
]
