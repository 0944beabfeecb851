"""What a notifier is, what it is handed, and the registry of notifier types.

Notices are written to the outbox in the same transaction as the event that caused them
(see ``Engine.sweep``); ``Engine.deliver`` later hands each to the notifier named by its
channel, with retries and exponential backoff (:class:`RetryPolicy`), and marks it delivered
or, after the last attempt, dead (``zhenggai outbox list`` / ``retry``).  Delivery is at least
once: a process that dies after sending but before recording it sends again, so every notice
carries a stable ``id`` receivers can de-duplicate on.

Two registries, kept apart on purpose.  :data:`notifier_types` holds the notifier *classes*
by ``name``: the built-ins and what packages add through the ``zhenggai.notifiers`` entry
point group (or :func:`register_notifier`); each class knows how to build itself from the
environment (:meth:`Notifier.from_env`).  ``Engine.notifiers`` (a
:class:`~zhenggai.engine.notifiers.channels.NotifierRegistry`) holds the configured
*instances* a deployment delivers through, by channel.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Self, TypeVar, overload

from ..plugins import Registry

#: the entry point group through which installed packages add notifier types
PLUGIN_GROUP = "zhenggai.notifiers"


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
    #: a to-do list (an OA system's, DingTalk's, 泛微's): handed the to-dos opened for whoever
    #: must act and done when they no longer must, instead of the escalation rules' messages
    todos: bool = False

    @abstractmethod
    def send(self, notice: Notice) -> None:
        """Deliver or raise (any exception counts as a failed attempt)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self | None:
        """The notifier the environment configures, or ``None`` when its variables are absent;
        raises :class:`~zhenggai.engine.errors.InvalidInput` (``field`` the variable) when they
        are wrong.  A type without settings of its own is configured in code only."""
        return None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``first`` after the first failure, doubling, at most ``cap``."""

    attempts: int = 8
    first: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=2)

    def delay(self, attempts_so_far: int) -> timedelta:
        return min(self.cap, self.first * (2 ** max(0, attempts_so_far - 1)))


#: notifier classes by ``name``, in the order they were registered (built-ins first)
notifier_types: Registry[type[Notifier]] = Registry("notifier", PLUGIN_GROUP, cls=Notifier)

N = TypeVar("N", bound=type[Notifier])


@overload
def register_notifier(cls: N, *, replace: bool = False) -> N: ...


@overload
def register_notifier(cls: None = None, *, replace: bool = False) -> Callable[[N], N]: ...


def register_notifier(cls: N | None = None, *, replace: bool = False) -> N | Callable[[N], N]:
    """Make a notifier class known by its ``name`` (usable as a decorator, bare or as
    ``@register_notifier(replace=True)``), so that :func:`configured_notifiers` asks it for its
    settings.  An instance is still added to an engine with ``engine.notifiers.add(...)``."""

    def deco(c: N) -> N:
        notifier_types.register(c, replace=replace)
        return c

    return deco if cls is None else deco(cls)
