"""The notifiers' earlier import path, ``zhenggai.engine.notify``: the same objects as
:mod:`zhenggai.engine.notifiers`, for code that still imports them from here (the command
line's environment settings, until they are read with ``configured_notifiers``)."""

from __future__ import annotations

from .notifiers import (
    DeliveryFailed,
    EmailNotifier,
    LogNotifier,
    Notice,
    Notifier,
    NotifierRegistry,
    OATodoNotifier,
    RetryPolicy,
    WebhookNotifier,
    sign,
)

__all__ = [
    "DeliveryFailed",
    "EmailNotifier",
    "LogNotifier",
    "Notice",
    "Notifier",
    "NotifierRegistry",
    "OATodoNotifier",
    "RetryPolicy",
    "WebhookNotifier",
    "sign",
]
