"""What a guard is, and the registry workflows resolve guard names against.

A guard is a pure function ``(issue, ctx, params) -> Text | None``: ``None`` lets the
transition pass, a :class:`~zhenggai.i18n.Text` is the reason it may not, in words an owner
understands.  Workflows name guards in YAML (``guards: [has_measures, {signed_off: unit_lead}]``);
each guard declares how to read its parameters (checked when the workflow is validated, so a
bad parameter is refused at deploy time with its line) and which parts of the issue it reads
(so the engine loads only those).

Host applications add their own with :func:`register_guard`, in process or from an installed
package's ``zhenggai.guards`` entry point (see :mod:`zhenggai.engine.plugins`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ...i18n import Text
from ..facts import GuardContext, IssueFacts
from ..plugins import Registry
from .params import ParamParser, no_params

Reason = Text | None
GuardFn = Callable[[IssueFacts, GuardContext, Any], Reason]

#: the entry point group through which installed packages add guards
PLUGIN_GROUP = "zhenggai.guards"

#: the parts of an issue a guard may ask the engine to load
NEEDS = frozenset({"measures", "evidence", "signoffs", "mechanisms"})


@dataclass(frozen=True)
class GuardType:
    name: str
    check: GuardFn
    parse: ParamParser
    needs: frozenset[str] = field(default_factory=frozenset)
    doc: str = ""


class GuardRegistry:
    """Named guards; one process-wide instance, :data:`guards`, is what workflows resolve against.

    A guard is registered as a function with its options (a parameter reader, the parts of
    the issue it reads), so this registry keeps its own ``register`` and lets a
    :class:`~zhenggai.engine.plugins.Registry` of :class:`GuardType` do the resolving: an entry
    point callable is given this registry, as it always was."""

    def __init__(self) -> None:
        self.types: Registry[GuardType] = Registry("guard", PLUGIN_GROUP, handle=self)

    def register(
        self,
        name: str,
        *,
        params: ParamParser | None = None,
        needs: Iterable[str] = (),
        replace: bool = False,
    ) -> Callable[[GuardFn], GuardFn]:
        needs = frozenset(needs)
        unknown = needs - NEEDS
        if unknown:
            raise ValueError(f"guard {name!r} needs unknown parts {sorted(unknown)}; known: {sorted(NEEDS)}")

        def deco(fn: GuardFn) -> GuardFn:
            doc = (fn.__doc__ or "").strip()
            self.types.add(name, GuardType(name, fn, params or no_params, needs, doc), replace=replace)
            return fn

        return deco

    def get(self, name: str) -> GuardType:
        return self.types.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.types

    def names(self) -> list[str]:
        return self.types.names()

    def load_plugins(self) -> None:
        """Load the guards installed packages declare under ``zhenggai.guards``, once per process."""
        self.types.load_plugins()

    @property
    def plugin_errors(self) -> dict[str, str]:
        """Entry point name -> why it failed to load."""
        return self.types.plugin_errors


guards = GuardRegistry()


def register_guard(
    name: str, *, params: ParamParser | None = None, needs: Iterable[str] = (), replace: bool = False
) -> Callable[[GuardFn], GuardFn]:
    """Register a custom guard for use in workflow YAML (call before loading the workflow)."""
    return guards.register(name, params=params, needs=needs, replace=replace)


def describe_guards() -> list[dict[str, str]]:
    return [{"name": n, "doc": guards.get(n).doc} for n in guards.names()]
