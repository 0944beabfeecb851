"""Statistics over a round: pure counting of what the database grouped and summed (or, for
a past day, of what the history replayed), so the numbers for any past date can be reproduced
from the history alone."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class IssueFact:
    """Problems alike in all the statistics count (one problem, or a group the database
    counted): ``count`` of them, ``recurrences`` their reopenings together."""

    category: str
    unit: str
    source: str
    state: str
    light: str | None
    overdue: bool  # past its deadline on the day counted (counted only while not final)
    recurrences: int
    raised: bool  # raised a level (问责) by that day
    count: int = 1


def summarise(
    issues: list[IssueFact],
    *,
    final_states: frozenset[str],
    supervised_states: frozenset[str],
    immediate: frozenset[str],
    by: str | None = None,
    closings: tuple[int, float] = (0, 0.0),
) -> dict[str, Any]:
    """Counts per state, completion rates (整改完成率, and for the ``immediate`` categories that
    must finish inside the concentrated period), overdue, supervised, lights, recurrences,
    average days to close (``closings``: how many, their average); and the same per ``by``
    (unit, category, source or state) if asked."""

    def block(items: list[IssueFact]) -> dict[str, Any]:
        total = sum(i.count for i in items)
        closed = sum(i.count for i in items if i.state in final_states)
        imm = [i for i in items if i.category in immediate]
        imm_total = sum(i.count for i in imm)
        imm_closed = sum(i.count for i in imm if i.state in final_states)
        by_state: Counter[str] = Counter()
        lights: Counter[str] = Counter()
        for i in items:
            by_state[i.state] += i.count
            if i.light and i.state not in final_states:
                lights[i.light] += i.count
        return {
            "total": total,
            "closed": closed,
            "completion_rate": round(closed / total, 4) if total else None,
            "immediate_total": imm_total,
            "immediate_completion_rate": round(imm_closed / imm_total, 4) if imm_total else None,
            "overdue": sum(i.count for i in items if i.state not in final_states and i.overdue),
            "supervised": sum(i.count for i in items if i.state in supervised_states),
            "raised_a_level": sum(i.count for i in items if i.raised),
            "recurrences": sum(i.recurrences for i in items),
            "by_state": dict(by_state),
            "lights": dict(lights),
        }

    out = block(issues)
    if closings[0]:
        out["average_days_to_close"] = round(closings[1], 1)
    if by:
        groups: dict[str, list[IssueFact]] = defaultdict(list)
        for i in issues:
            groups[str(getattr(i, by))].append(i)
        out["by"] = {"field": by, "groups": {k: block(v) for k, v in sorted(groups.items())}}
    return out


def week_ends(start: date, end: date) -> list[date]:
    """The last day of each week from ``start`` to ``end`` (the last one cut at ``end``)."""
    weeks: list[date] = []
    d = start + timedelta(days=6)
    while d < end + timedelta(days=7):
        weeks.append(min(d, end))
        d += timedelta(days=7)
    return weeks


def burn_down(weeks: list[date], open_counts: list[int]) -> list[dict[str, Any]]:
    """Open items at the end of each week (the database counted them from the history)."""
    return [{"week_ending": w.isoformat(), "open": n} for w, n in zip(weeks, open_counts, strict=True)]
