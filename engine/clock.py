"""The engine reads time from a clock it is given, so tests and ``--as-of`` never sleep."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Shanghai"


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved; for tests, demos and ``--as-of``."""

    def __init__(self, at: datetime | date | str) -> None:
        self._now = to_utc(at)

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime | date | str) -> None:
        self._now = to_utc(at)

    def advance(self, **kwargs: float) -> datetime:
        self._now += timedelta(**kwargs)
        return self._now


def to_utc(at: datetime | date | str, tz: str = DEFAULT_TZ) -> datetime:
    """A date means the start of that day in ``tz``; a naive datetime is read in ``tz``."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at) if "T" in at or " " in at else date.fromisoformat(at)
    if not isinstance(at, datetime):
        at = datetime(at.year, at.month, at.day, 9, 0)
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(tz))
    return at.astimezone(UTC)


def local_date(at: datetime, tz: str = DEFAULT_TZ) -> date:
    return at.astimezone(ZoneInfo(tz)).date()
