"""zhenggai (整改): a state-machine workflow engine for inspection and audit rectification.

The public API is imported lazily (PEP 562) so that ``zhenggai --help`` does not pay for
SQLAlchemy and transitions.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Engine": ".engine.service",
    "Refused": ".engine.errors",
    "NotFound": ".engine.errors",
    "ConcurrentUpdate": ".engine.errors",
    "ZhenggaiError": ".engine.errors",
    "Actor": ".engine.actors",
    "SYSTEM": ".engine.actors",
    "FixedClock": ".engine.clock",
    "SystemClock": ".engine.clock",
    "WorkflowDefinition": ".engine.definition",
    "WorkflowInvalid": ".engine.errors",
    "load_definition": ".engine.definition",
    "parse_definition": ".engine.definition",
    "register_guard": ".engine.guards",
    "Calendar": ".engine.calendars",
    "register_calendar": ".engine.calendars",
    "Notice": ".engine.notifiers",
    "Notifier": ".engine.notifiers",
    "register_notifier": ".engine.notifiers",
    "Text": ".i18n",
}

__all__ = [
    "SYSTEM",
    "Actor",
    "Calendar",
    "ConcurrentUpdate",
    "Engine",
    "FixedClock",
    "NotFound",
    "Notice",
    "Notifier",
    "Refused",
    "SystemClock",
    "Text",
    "WorkflowDefinition",
    "WorkflowInvalid",
    "ZhenggaiError",
    "load_definition",
    "parse_definition",
    "register_calendar",
    "register_guard",
    "register_notifier",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'zhenggai' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)


if TYPE_CHECKING:  # pragma: no cover
    from .engine.actors import SYSTEM, Actor
    from .engine.calendars import Calendar, register_calendar
    from .engine.clock import FixedClock, SystemClock
    from .engine.definition import (
        WorkflowDefinition,
        load_definition,
        parse_definition,
    )
    from .engine.errors import ConcurrentUpdate, NotFound, Refused, WorkflowInvalid, ZhenggaiError
    from .engine.guards import register_guard
    from .engine.notifiers import Notice, Notifier, register_notifier
    from .engine.service import Engine
    from .i18n import Text
