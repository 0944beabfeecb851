"""What a calendar is, and the registry workflows name calendars from.

A calendar answers one question, whether a day is a working day (and whether that answer was
estimated); :class:`Calendar` builds every count on it: working days between two dates,
the date so many working days on, a workflow :class:`~zhenggai.engine.durations.Duration`
added to a date.  Results carry ``estimated`` so that a count which leaned on a fallback
rule says so instead of passing for certain.

Workflows name their calendar (``escalation: {calendar: cn_working_days}``); the names are
looked up in :data:`calendars`.  A host registers its own (a bureau with local rest days,
say) with :func:`register_calendar`, in process or from an installed package's
``zhenggai.calendars`` entry point (see :mod:`zhenggai.engine.plugins`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar, overload

from ..durations import Duration
from ..plugins import Registry

#: the entry point group through which installed packages add calendars
PLUGIN_GROUP = "zhenggai.calendars"


@dataclass(frozen=True, slots=True)
class DayCount:
    """A result, and whether any day in it was counted by the fallback rule."""

    value: int
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class DateResult:
    value: date
    estimated: bool = False


class Calendar(ABC):
    """Counts days of one kind.  Subclasses say which days are working days."""

    name: str = "calendar"

    @abstractmethod
    def is_working_day(self, day: date) -> tuple[bool, bool]:
        """(is a working day, answer was estimated)."""

    def working_days_between(self, start: date, end: date) -> DayCount:
        """Working days in ``(start, end]``: how many working days after ``start`` until ``end``
        (negative if ``end`` is before ``start``)."""
        if end == start:
            return DayCount(0)
        sign, lo, hi = (1, start, end) if end > start else (-1, end, start)
        n, est = 0, False
        d = lo + timedelta(days=1)
        while d <= hi:
            ok, e = self.is_working_day(d)
            n += ok
            est |= e
            d += timedelta(days=1)
        return DayCount(sign * n, est)

    def add_working_days(self, start: date, n: int) -> DateResult:
        """The day ``n`` working days after ``start`` (before it for negative ``n``)."""
        step = 1 if n >= 0 else -1
        d, left, est = start, abs(n), False
        while left:
            d += timedelta(days=step)
            ok, e = self.is_working_day(d)
            est |= e
            left -= ok
        return DateResult(d, est)

    # Deadlines repeat across issues and sweeps: working-day answers are memoised (bounded).
    _MEMO_LIMIT = 100_000

    def add(self, start: date, duration: Duration) -> DateResult:
        if duration.unit == "days":
            return DateResult(start + timedelta(days=duration.amount))
        return self._add_memo(start, duration.amount)

    def subtract(self, start: date, duration: Duration) -> DateResult:
        if duration.unit == "days":
            return DateResult(start - timedelta(days=duration.amount))
        return self._add_memo(start, -duration.amount)

    def elapsed(self, start: date, end: date, unit: str) -> DayCount:
        """Days of ``unit`` from ``start`` to ``end``."""
        if unit == "days":
            return DayCount((end - start).days)
        memo = self.__dict__.setdefault("_between", {})
        hit = memo.get((start, end))
        if hit is None:
            if len(memo) > self._MEMO_LIMIT:
                memo.clear()
            hit = memo[(start, end)] = self.working_days_between(start, end)
        return hit

    def _add_memo(self, start: date, n: int) -> DateResult:
        memo = self.__dict__.setdefault("_adds", {})
        hit = memo.get((start, n))
        if hit is None:
            if len(memo) > self._MEMO_LIMIT:
                memo.clear()
            hit = memo[(start, n)] = self.add_working_days(start, n)
        return hit


C = TypeVar("C", bound=type[Calendar])


class CalendarRegistry:
    """Calendar classes by ``name``; :meth:`get` answers with one shared instance of each
    (calendars memoise their counts), made the first time it is asked for."""

    def __init__(self) -> None:
        self.types: Registry[type[Calendar]] = Registry("calendar", PLUGIN_GROUP, cls=Calendar, handle=self)
        self._instances: dict[type[Calendar], Calendar] = {}

    @overload
    def register(self, cls: C, /, *, replace: bool = False) -> C: ...

    @overload
    def register(self, cls: None = None, /, *, replace: bool = False) -> Callable[[C], C]: ...

    def register(self, cls: C | None = None, /, *, replace: bool = False) -> C | Callable[[C], C]:
        def deco(c: C) -> C:
            self.types.register(c, replace=replace)
            return c

        return deco if cls is None else deco(cls)

    def get(self, name: str) -> Calendar:
        cls = self.types.get(name)
        cal = self._instances.get(cls)
        if cal is None:
            cal = self._instances[cls] = cls()
        return cal

    def __contains__(self, name: object) -> bool:
        return name in self.types

    def names(self) -> list[str]:
        return self.types.names()

    def load_plugins(self) -> None:
        """Load the calendars installed packages declare under ``zhenggai.calendars``, once per process."""
        self.types.load_plugins()

    @property
    def plugin_errors(self) -> dict[str, str]:
        """Entry point name -> why it failed to load."""
        return self.types.plugin_errors


calendars = CalendarRegistry()


@overload
def register_calendar(cls: C, *, replace: bool = False) -> C: ...


@overload
def register_calendar(cls: None = None, *, replace: bool = False) -> Callable[[C], C]: ...


def register_calendar(cls: C | None = None, *, replace: bool = False) -> C | Callable[[C], C]:
    """Make a calendar class available to workflows by its ``name`` (usable as a decorator,
    bare or as ``@register_calendar(replace=True)``)."""
    return calendars.register(cls, replace=replace)
