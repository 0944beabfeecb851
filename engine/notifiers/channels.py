"""The notifiers a deployment delivers through, by channel, and building them from the
environment.

:class:`NotifierRegistry` is what ``Engine.notifiers`` holds: configured instances by channel
name, the log always among them.  :func:`configured_notifiers` asks every registered notifier
type, in registration order (webhook, oa_todo, email, then plugins), whether the environment
configures it; each one it returns is meant to be added and to become a channel too.
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import Notifier, notifier_types
from .log import LogNotifier


class NotifierRegistry:
    def __init__(self) -> None:
        self._by_name: dict[str, Notifier] = {"log": LogNotifier()}

    def add(self, notifier: Notifier, *, name: str | None = None) -> None:
        self._by_name[name or notifier.name] = notifier

    def get(self, name: str) -> Notifier | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return sorted(self._by_name)


def configured_notifiers(env: Mapping[str, str]) -> list[Notifier]:
    """The notifiers ``env`` configures (``os.environ``, or a file's settings), in the order
    their types were registered; raises :class:`~zhenggai.engine.errors.InvalidInput` naming
    the variable that is wrong."""
    out: list[Notifier] = []
    for _, cls in notifier_types.items():
        notifier = cls.from_env(env)
        if notifier is not None:
            out.append(notifier)
    return out
