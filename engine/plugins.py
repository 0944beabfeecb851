"""One plugin resolver for everything a host adds by name: guards, calendars, notifier types.

Each of those concepts is a folder (``guards/``, ``calendars/``, ``notifiers/``) with a base
type, small implementations, and one :class:`Registry` that maps names to them.  Workflows
and the engine ask the registry by name; hosts add to it in two ways, as APScheduler 3 finds
its executors and job stores:

* in process, with ``register_guard`` / ``register_calendar`` / ``register_notifier``;
* from an installed package, through an entry point in the registry's group
  (``zhenggai.guards``, ``zhenggai.calendars``, ``zhenggai.notifiers``).

An entry point names a module (importing it registers what it defines, with the functions
above), a callable (called with the registry, or with the object the concept offers plugins
in its place: the guard registry with its ``register(name, params=..., needs=...)``), or, in
the groups that hold classes, the class itself.  The entry point's own name only labels the
plugin in error reports; what it registers is named by the guard or by the class's ``name``.

Entry points are read lazily, the first time a registry is asked for a name it does not
hold, for its names or for its contents, and once per process: importing zhenggai costs
nothing, and a host that registers in code needs no package metadata at all.  A plugin that
fails to load does not stop the engine.  It is remembered, and every "unknown" answer shows
it beside the names that are known, because the name asked for was most likely the broken
plugin's.

The built-ins are registered the way a plugin registers, by the concept package on import
(``guards/`` by the decorators of its guard functions, ``calendars/`` and ``notifiers/`` in a
fixed order, which ``configured_notifiers`` follows).  pyproject.toml declares them under the
same groups, naming the very objects; reading that metadata later finds each already
registered, which is a no-op (:meth:`Registry.add` accepts the same object twice).  So stale
metadata, as an editable checkout has until it is installed again, or none at all (a source
tree on ``PYTHONPATH``) changes nothing, and current metadata lists every built-in for tools
that enumerate a group.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar, overload

T = TypeVar("T")


class Registry(Generic[T]):
    """Named things of one ``kind``, and the entry point ``group`` installed packages add
    them through.

    ``cls``, for registries of classes, is their base: an entry point that names a subclass
    of it is registered as it is.  ``handle`` is what an entry point callable is given, when
    the concept offers plugins something other than this registry."""

    def __init__(self, kind: str, group: str, *, cls: type | None = None, handle: object | None = None) -> None:
        self.kind = kind
        self.group = group
        self._cls = cls
        self._handle = handle
        self._things: dict[str, T] = {}
        self._plugins_loaded = False
        self._loading = False
        self._lock = threading.RLock()
        #: entry point name -> why it failed to load, for reports beside "unknown"
        self.plugin_errors: dict[str, str] = {}

    # --- adding ----------------------------------------------------------------------

    def add(self, name: str, thing: T, *, replace: bool = False) -> T:
        """Register ``thing`` as ``name``.  The same object again is a no-op (a built-in found
        once more through its entry point); another one under a taken name needs ``replace``."""
        held = self._things.get(name)
        if held is not None and held is not thing and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._things[name] = thing
        return thing

    @overload
    def register(self, thing: T, /, *, name: str | None = None, replace: bool = False) -> T: ...

    @overload
    def register(
        self, thing: None = None, /, *, name: str | None = None, replace: bool = False
    ) -> Callable[[T], T]: ...

    def register(
        self, thing: T | None = None, /, *, name: str | None = None, replace: bool = False
    ) -> T | Callable[[T], T]:
        """Register a thing under ``name`` or its own ``name`` attribute; usable as a decorator,
        bare (``@reg.register``) or with options (``@reg.register(replace=True)``)."""

        def deco(t: T) -> T:
            key = name if name is not None else getattr(t, "name", None)
            if not isinstance(key, str) or not key:
                raise ValueError(f"a {self.kind} needs a name: give it a name attribute or pass name=")
            return self.add(key, t, replace=replace)

        return deco if thing is None else deco(thing)

    # --- looking up ------------------------------------------------------------------

    def get(self, name: str) -> T:
        """The thing registered as ``name``; a :class:`KeyError` naming the known ones (and the
        plugins that failed to load) otherwise."""
        try:
            return self._things[name]
        except KeyError:
            pass
        self.load_plugins()
        try:
            return self._things[name]
        except KeyError:
            raise KeyError(self.unknown(name)) from None

    def __contains__(self, name: object) -> bool:
        if name in self._things:
            return True
        self.load_plugins()
        return name in self._things

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self.load_plugins()
        return sorted(self._things)

    def items(self) -> list[tuple[str, T]]:
        """Every (name, thing), in the order they were registered (built-ins first)."""
        self.load_plugins()
        return list(self._things.items())

    def unknown(self, name: object) -> str:
        """What to say about a name nobody registered."""
        text = f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}"
        broken = self.broken_plugins()
        return f"{text}; plugins that failed to load: {broken}" if broken else text

    def broken_plugins(self) -> str:
        """The plugins that failed to load and why, as one line ("" if none did)."""
        return "; ".join(f"{ep}: {why}" for ep, why in self.plugin_errors.items())

    # --- entry points ----------------------------------------------------------------

    def load_plugins(self) -> None:
        """Load what installed packages declare in :attr:`group`, once per process."""
        if self._plugins_loaded:
            return
        # Another thread asking meanwhile waits for the whole set rather than answer "unknown"
        # for a plugin half loaded; a plugin that asks this registry while it loads is answered
        # with what is registered so far (the lock is re-entrant, the loading flag says so).
        with self._lock:
            if self._plugins_loaded or self._loading:
                return
            self._loading = True
            try:
                from importlib.metadata import entry_points

                for ep in entry_points(group=self.group):
                    try:
                        self._adopt(ep.load())
                    except Exception as exc:  # a broken plugin must not stop the engine; it is reported
                        self.plugin_errors[ep.name] = f"{ep.value}: {type(exc).__name__}: {exc}"
            finally:
                self._plugins_loaded = True
                self._loading = False

    def _adopt(self, obj: object) -> None:
        if isinstance(obj, type):
            if self._cls is None or not issubclass(obj, self._cls):
                wanted = f"a {self._cls.__name__} subclass, " if self._cls is not None else ""
                raise TypeError(f"{obj.__qualname__} is a class; name {wanted}a module or a function")
            self.register(obj)  # type: ignore[arg-type]  # T is type[cls] in a registry of classes
        elif callable(obj):
            obj(self._handle if self._handle is not None else self)
        # a module: importing it has registered what it defines
