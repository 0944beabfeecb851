"""When an issue next needs the escalation sweep's attention.

Every write stores ``next_check_at``: the earliest moment any of the workflow's escalation
rules could apply to the issue in its new state.  The sweep then reads one index
(``next_check_at <= now``) and its cost grows with the issues that are due, not with all
issues.  The bound is deliberately early, never late: a rule counted in working days cannot
apply sooner than the same number of natural days allow, so natural days give a safe bound
without consulting a holiday calendar; a ``due_in`` warning counted in working days is
bounded by the longest run of days off the Chinese calendar has (a week's holiday joined to
weekends).  Looking a little early costs the sweep one cheap evaluation; looking late would
miss an escalation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from .definition import Duration, WorkflowDefinition

#: the most natural days that N working days before a deadline can span, beyond N itself
LONGEST_DAYS_OFF = 9


@lru_cache(maxsize=4096)
def _start_of(day: date, tz: str) -> datetime:
    """Midnight starting ``day`` in ``tz``, as UTC (deadlines repeat, so this is cached)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _days_at_least(d: Duration) -> int:
    """Natural days that certainly elapse before ``d`` has passed."""
    return d.amount


def _days_at_most(d: Duration) -> int:
    """Natural days ``d`` can span at the most."""
    if d.unit == "days":
        return d.amount
    return math.ceil(d.amount / 5) * 7 + LONGEST_DAYS_OFF


@dataclass(frozen=True, slots=True)
class _Bound:
    """One rule, reduced to the offsets its conditions imply (compiled once per workflow)."""

    sla_days: int | None  # days after entering the state, if the rule waits on the SLA
    idle_days: int | None  # days after the last activity
    overdue_days: int | None  # days after the deadline
    due_in_days: int | None  # days before the deadline
    needs_due: bool


def _compile(d: WorkflowDefinition) -> dict[str, list[_Bound]]:
    by_state: dict[str, list[_Bound]] = {s: [] for s in d.states}
    if d.escalation is None:
        return by_state
    for rule in d.escalation.rules:
        for state in rule.states:
            sla = d.states[state].sla
            fields: dict[str, int | None] = {
                "sla_days": None,
                "idle_days": None,
                "overdue_days": None,
                "due_in_days": None,
            }
            possible = True
            for cond, raw in rule.when.items():
                if cond == "sla_exceeded":
                    if not raw:
                        continue
                    if sla is None:
                        possible = False  # a state without an SLA never exceeds it
                        break
                    fields["sla_days"] = _days_at_least(sla)
                    continue
                dur = Duration(next(iter(raw.values())), next(iter(raw)))
                key = {"idle": "idle_days", "overdue": "overdue_days", "due_in": "due_in_days"}[cond]
                fields[key] = _days_at_most(dur) if cond == "due_in" else _days_at_least(dur)
            if possible:
                needs_due = fields["overdue_days"] is not None or fields["due_in_days"] is not None
                by_state[state].append(_Bound(**fields, needs_due=needs_due))
    return by_state


_COMPILED: dict[str, dict[str, list[_Bound]]] = {}


def next_check(
    d: WorkflowDefinition,
    state: str,
    *,
    entered_at: datetime,
    last_activity_at: datetime,
    due: date | None,
    tz: str,
) -> datetime | None:
    """The earliest moment an escalation rule could apply; ``None`` if none ever can."""
    bounds = _COMPILED.get(d.digest)
    if bounds is None:
        bounds = _COMPILED[d.digest] = _compile(d)
    best: datetime | None = None
    for b in bounds.get(state, ()):
        if b.needs_due and due is None:
            continue  # a condition on the deadline never holds without one
        moments = []
        if b.sla_days is not None:
            moments.append(entered_at + timedelta(days=b.sla_days))
        if b.idle_days is not None:
            moments.append(last_activity_at + timedelta(days=b.idle_days))
        if b.overdue_days is not None:
            moments.append(_start_of(due + timedelta(days=1 + b.overdue_days), tz))  # type: ignore[operator]
        if b.due_in_days is not None:
            moments.append(_start_of(due - timedelta(days=b.due_in_days), tz))  # type: ignore[operator]
        if not moments:
            continue
        at = max(moments)  # every condition of a rule must hold: it applies once the last one can
        if best is None or at < best:
            best = at
    return best
