"""Calendars: how deadlines and waiting times are counted.

``natural`` counts every day; ``cn_working_days`` counts Chinese working days, statutory
holidays and make-up working days (调休) included.  ``base`` holds :class:`Calendar` and the
registry workflows name them from (:data:`calendars`, :func:`register_calendar`); importing
this package registers the two built-ins there, as a plugin registers its own.
"""

from __future__ import annotations

from .base import PLUGIN_GROUP, Calendar, CalendarRegistry, DateResult, DayCount, calendars, register_calendar
from .chinese import ChineseWorkingDays
from .natural import NaturalCalendar

register_calendar(NaturalCalendar)
register_calendar(ChineseWorkingDays)

__all__ = [
    "PLUGIN_GROUP",
    "Calendar",
    "CalendarRegistry",
    "ChineseWorkingDays",
    "DateResult",
    "DayCount",
    "NaturalCalendar",
    "calendars",
    "register_calendar",
]
