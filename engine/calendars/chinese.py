"""Chinese working days: weekends and statutory holidays off, make-up working days (调休) on.

The days come from the maintained ``chinese-calendar`` package rather than a table of our
own.  That package knows each year only once the State Council has published its holiday
schedule (usually in November for the next year).  For a year it does not know yet, the
documented fallback is Monday to Friday with no statutory holidays; every answer that relied
on it is marked ``estimated`` so that callers can say so, and a warning is logged once per
year — never a silent guess.

An office's calendar file (:mod:`.corrections`) comes first: it extends the package to a year
it does not know yet, or overrides a day (:meth:`ChineseWorkingDays.correct`).
"""

from __future__ import annotations

import logging
from datetime import date

from .base import Calendar
from .corrections import Corrections

log = logging.getLogger("zhenggai.engine.calendar")


class ChineseWorkingDays(Calendar):
    """Statutory holidays and make-up working days (调休) from ``chinese-calendar``."""

    name = "cn_working_days"

    def __init__(self) -> None:
        import chinese_calendar

        self._cc = chinese_calendar
        self._warned: set[int] = set()
        self._known: dict[int, bool] = {}
        self.corrections = Corrections()

    def correct(self, corrections: Corrections) -> None:
        """Use ``corrections`` from now on (an empty one to go back to the package alone);
        every count memoised before is forgotten."""
        self.corrections = corrections
        self.__dict__.pop("_between", None)
        self.__dict__.pop("_adds", None)

    def source(self, day: date) -> str:
        """Where the answer for ``day`` comes from: ``file``, ``package`` or ``estimated``."""
        if self.corrections.answer(day) is not None:
            return "file"
        return "package" if self.knows(day.year) else "estimated"

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
        corrected = self.corrections.answer(day)
        if corrected is not None:
            return corrected, False
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
