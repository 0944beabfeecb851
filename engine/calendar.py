"""Calendars: how deadlines and waiting times are counted.

``natural`` counts every day.  ``cn_working_days`` counts Chinese working days: weekends and
statutory holidays off, make-up working days (调休) on, from the maintained ``chinese-calendar``
package rather than a table of our own.  That package knows each year only once the State
Council has published its holiday schedule (usually in November for the next year).  For a
year it does not know yet, the documented fallback is Monday to Friday with no statutory
holidays; every answer that relied on it is marked ``estimated`` so that callers can say so,
and a warning is logged once per year — never a silent guess.

Calendars are looked up by name in :data:`calendars`; a host can register its own (a bureau
with local rest days, say) with :func:`register_calendar`.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, timedelta

from .durations import Duration

log = logging.getLogger(__name__)


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


class NaturalCalendar(Calendar):
    """Every day counts; ``working_days`` are then Monday to Friday."""

    name = "natural"

    def is_working_day(self, day: date) -> tuple[bool, bool]:
        return day.weekday() < 5, False


class ChineseWorkingDays(Calendar):
    """Statutory holidays and make-up working days (调休) from ``chinese-calendar``."""

    name = "cn_working_days"

    def __init__(self) -> None:
        import chinese_calendar

        self._cc = chinese_calendar
        self._warned: set[int] = set()
        self._known: dict[int, bool] = {}

    def knows(self, year: int) -> bool:
        known = self._known.get(year)
        if known is None:
            try:
                self._cc.is_workday(date(year, 6, 1))
                known = True
            except NotImplementedError:
                known = False
            self._known[year] = known
        return known

    def is_working_day(self, day: date) -> tuple[bool, bool]:
        if self.knows(day.year):
            return bool(self._cc.is_workday(day)), False
        if day.year not in self._warned:
            self._warned.add(day.year)
            log.warning(
                "chinese-calendar 尚无 %s 年的节假日安排：暂按周一至周五为工作日计算（结果标记为估算；国务院公布安排后请升级 "
                "chinese-calendar） / chinese-calendar has no holiday schedule for %s yet: counting Monday to Friday "
                "as working days (results are marked estimated; upgrade chinese-calendar once it is published)",
                day.year,
                day.year,
            )
        return day.weekday() < 5, True


class CalendarRegistry:
    def __init__(self) -> None:
        self._factories: dict[str, type[Calendar]] = {}
        self._instances: dict[str, Calendar] = {}

    def register(self, cls: type[Calendar], *, replace: bool = False) -> type[Calendar]:
        if cls.name in self._factories and not replace:
            raise ValueError(f"calendar {cls.name!r} is already registered")
        self._factories[cls.name] = cls
        self._instances.pop(cls.name, None)
        return cls

    def get(self, name: str) -> Calendar:
        cal = self._instances.get(name)
        if cal is None:
            try:
                cal = self._instances[name] = self._factories[name]()
            except KeyError:
                raise KeyError(f"unknown calendar {name!r}; known: {', '.join(sorted(self._factories))}") from None
        return cal

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def names(self) -> list[str]:
        return sorted(self._factories)


calendars = CalendarRegistry()
calendars.register(NaturalCalendar)
calendars.register(ChineseWorkingDays)


def register_calendar(cls: type[Calendar], *, replace: bool = False) -> type[Calendar]:
    """Make a calendar class available to workflows by its ``name`` (usable as a decorator)."""
    return calendars.register(cls, replace=replace)
