"""An office's calendar file in use, what a year looks like by it, and the next checks a
calendar change moves.

:func:`use_file` reads a calendar file (:mod:`.calendars.corrections`) and gives it to the
Chinese working-day calendar, forgetting every count memoised before.  :func:`year` says, day
by day, whether each is a working day and whether that is known (the file, the package) or
estimated.  :func:`recompute` works out again, in batches of one transaction each, the light
and next check of every issue whose schedule reaches a day the change may have moved — its
next check, due date or final deadline on or after the earliest day the file or the package's
estimates speak of — and stores those that differ (derived fields: no event, no version).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ..i18n import Text
from ..storage.repository import Repository
from . import journal
from .calendars import ChineseWorkingDays, calendars
from .calendars.corrections import Corrections, load
from .core import Core
from .errors import InvalidInput
from .escalation import forget_memos
from .results import iso

CALENDAR = "cn_working_days"


def chinese() -> ChineseWorkingDays:
    cal = calendars.get(CALENDAR)
    if not isinstance(cal, ChineseWorkingDays):
        raise InvalidInput(Text(f"日历 {CALENDAR} 已被替换，不能使用日历文件", f"calendar {CALENDAR} was replaced: no calendar file applies"), field="file")  # fmt: skip
    return cal


def use_file(path: str | Path | None) -> Corrections:
    """Count Chinese working days with this calendar file from now on (``None``: with the
    package alone).  A file that is wrong is refused and the calendar stays as it was."""
    corrections = Corrections() if path is None else load(path)
    chinese().correct(corrections)
    forget_memos()
    return corrections


def year(y: int) -> dict[str, Any]:
    """Every day of year ``y``: working or not, and from where the answer comes (``file``,
    ``package``, ``estimated``), with the holidays and make-up working days named."""
    cal = chinese()
    days, day = [], date(y, 1, 1)
    while day.year == y:
        working, _ = cal.is_working_day(day)
        name = cal.corrections.holidays.get(day) or cal.corrections.workdays.get(day) or ""
        days.append({"date": day.isoformat(), "working": working, "source": cal.source(day), "name": name})
        day += timedelta(days=1)
    count = {s: sum(d["source"] == s for d in days) for s in ("file", "package", "estimated")}
    return {
        "year": y,
        "calendar": CALENDAR,
        "file": cal.corrections.source or None,
        "working_days": sum(d["working"] for d in days),
        "known": count["file"] + count["package"],
        "estimated": count["estimated"],
        "by_source": count,
        "days": days,
    }


def first_uncertain_day(today: date) -> date:
    """The earliest day a calendar change may move: the first day of the file, or of the
    first year from last year on the package does not know, whichever is earlier."""
    cal = chinese()
    y = today.year - 1
    while cal.knows(y) and y < today.year + 50:
        y += 1
    candidates = [date(y, 1, 1)]
    first = cal.corrections.first_day()
    if first is not None:
        candidates.append(first)
    return min(candidates)


@dataclass
class RecomputeReport:
    since: date
    checked: int = 0
    moved: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "checked": self.checked, "moved": self.moved}


def recompute(
    core: Core, *, now: datetime | None = None, since: date | None = None, batch: int = 500
) -> RecomputeReport:
    """Work out again the light and next check of every issue a calendar change may move."""
    now = now or core.clock.now()
    start = since or first_uncertain_day(now.date())
    report = RecomputeReport(start)
    after = 0
    while True:
        with core.write() as conn:
            repo = Repository(conn)
            rows = repo.issues.reaching(start, after, batch)
            for row in rows:
                d = core.definitions.get(repo, row.workflow_id)
                light, check = journal.schedule(d, journal.escalation_facts(row), now)
                report.checked += 1
                if (light, check) != (row.light, row.next_check_at):
                    repo.issues.set_schedule(row.id, light, check)
                    report.moved.append(
                        {"issue": row.code, "next_check_before": iso(row.next_check_at), "next_check_after": iso(check),
                         "light_before": row.light, "light_after": light}
                    )  # fmt: skip
        if len(rows) < batch:
            return report
        after = rows[-1].id
