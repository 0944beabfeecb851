"""Natural days: every day counts, and working days are Monday to Friday."""

from __future__ import annotations

from datetime import date

from .base import Calendar


class NaturalCalendar(Calendar):
    """Every day counts; ``working_days`` are then Monday to Friday."""

    name = "natural"

    def is_working_day(self, day: date) -> tuple[bool, bool]:
        return day.weekday() < 5, False
