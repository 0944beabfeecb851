"""Statistics over a round, computed from the issues and their event history.

Everything here is a pure function of query results, so the numbers for any past date can be
reproduced from the history alone (the burn-down replays each issue's open and close events
week by week).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class IssueFact:
    code: str
    category: str
    unit: str
    source: str
    state: str
    light: str | None
    due_date: date | None
    recurrences: int
    escalation_level: int


def summarise(
    issues: list[IssueFact],
    *,
    final_states: frozenset[str],
    supervised_states: frozenset[str],
    immediate: frozenset[str],
    today: date,
    by: str | None = None,
    close_days: list[float] | None = None,
) -> dict[str, Any]:
    """Counts per state, completion rates (整改完成率, and for the ``immediate`` categories that
    must finish inside the concentrated period), overdue, supervised, lights, recurrences,
    average days to close; and the same per ``by`` (unit, category, source or state) if asked."""

    def block(items: list[IssueFact]) -> dict[str, Any]:
        total = len(items)
        closed = sum(1 for i in items if i.state in final_states)
        imm = [i for i in items if i.category in immediate]
        imm_closed = sum(1 for i in imm if i.state in final_states)
        return {
            "total": total,
            "closed": closed,
            "completion_rate": round(closed / total, 4) if total else None,
            "immediate_total": len(imm),
            "immediate_completion_rate": round(imm_closed / len(imm), 4) if imm else None,
            "overdue": sum(1 for i in items if i.state not in final_states and i.due_date and i.due_date < today),
            "supervised": sum(1 for i in items if i.state in supervised_states),
            "raised_a_level": sum(1 for i in items if i.escalation_level > 0),
            "recurrences": sum(i.recurrences for i in items),
            "by_state": dict(Counter(i.state for i in items)),
            "lights": dict(Counter(i.light for i in items if i.light and i.state not in final_states)),
        }

    out = block(issues)
    if close_days:
        out["average_days_to_close"] = round(sum(close_days) / len(close_days), 1)
    if by:
        groups: dict[str, list[IssueFact]] = defaultdict(list)
        for i in issues:
            groups[str(getattr(i, by))].append(i)
        out["by"] = {"field": by, "groups": {k: block(v) for k, v in sorted(groups.items())}}
    return out


def burn_down(
    timelines: Iterable[tuple[datetime, list[tuple[datetime, bool]]]],
    *,
    start: date,
    end: date,
    tz: Any,
) -> list[dict[str, Any]]:
    """Open items at the end of each week from ``start`` to ``end``: each timeline is the
    issue's creation time and its (time, now-open?) changes, from the event history."""
    weeks: list[date] = []
    d = start + timedelta(days=6)
    while d < end + timedelta(days=7):
        weeks.append(min(d, end))
        d += timedelta(days=7)
    counts = [0] * len(weeks)
    for created, changes in timelines:
        created_day = created.astimezone(tz).date()
        for w, week_end in enumerate(weeks):
            if created_day > week_end:
                continue
            is_open = True
            for at, open_after in changes:
                if at.astimezone(tz).date() <= week_end:
                    is_open = open_after
                else:
                    break
            counts[w] += is_open
    return [{"week_ending": w.isoformat(), "open": n} for w, n in zip(weeks, counts, strict=True)]
