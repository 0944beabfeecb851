"""Notifiers: where escalation notices go once they leave the outbox.

Notifier types are classes registered by name, like APScheduler's executors: ``log`` (always
there), ``webhook`` (a CloudEvents JSON envelope POSTed and signed by the Standard Webhooks
specification), ``oa_todo`` (an OA system's unified to-do list), ``email`` (SMTP), then the platforms:
``dingtalk_robot`` and ``dingtalk_todo`` (钉钉), ``wecom_robot`` and ``wecom_app`` (企业微信),
``ecology_todo`` (泛微 e-cology's unified to-do).  Importing this package
registers them, in that order, as a plugin registers its own (:func:`register_notifier`, or
the ``zhenggai.notifiers`` entry point group).  A host adds a configured instance to an engine
with ``engine.notifiers.add(...)``.
"""

from __future__ import annotations

from .base import PLUGIN_GROUP, DeliveryFailed, Notice, Notifier, RetryPolicy, notifier_types, register_notifier
from .channels import NotifierRegistry, configured_notifiers
from .dingtalk import DingTalkRobotNotifier, DingTalkTodoNotifier
from .ecology import EcologyTodoNotifier
from .email import EmailNotifier
from .envelope import envelope
from .log import LogNotifier
from .webhook import OATodoNotifier, WebhookNotifier, new_secret, sign, signed_headers, whsec
from .wecom import WeComAppNotifier, WeComRobotNotifier

register_notifier(LogNotifier)
register_notifier(WebhookNotifier)
register_notifier(OATodoNotifier)
register_notifier(EmailNotifier)
register_notifier(DingTalkRobotNotifier)
register_notifier(DingTalkTodoNotifier)
register_notifier(WeComRobotNotifier)
register_notifier(WeComAppNotifier)
register_notifier(EcologyTodoNotifier)

__all__ = [
    "PLUGIN_GROUP",
    "DeliveryFailed",
    "DingTalkRobotNotifier",
    "DingTalkTodoNotifier",
    "EcologyTodoNotifier",
    "EmailNotifier",
    "LogNotifier",
    "Notice",
    "Notifier",
    "NotifierRegistry",
    "OATodoNotifier",
    "RetryPolicy",
    "WeComAppNotifier",
    "WeComRobotNotifier",
    "WebhookNotifier",
    "configured_notifiers",
    "envelope",
    "new_secret",
    "notifier_types",
    "register_notifier",
    "sign",
    "signed_headers",
    "whsec",
]
