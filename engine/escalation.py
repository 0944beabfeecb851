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
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .definition import Duration, EscalationRule, WorkflowDefinition

#: the most natural days that N working days before a deadline can span, beyond N itself
LONGEST_DAYS_OFF = 9


def _start_of(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))


def _days_at_least(d: Duration) -> int:
    """Natural days that certainly elapse before ``d`` has passed."""
    return d.amount


def _days_at_most(d: Duration) -> int:
    """Natural days ``d`` can span at the most."""
    if d.unit == "days":
        return d.amount
    return math.ceil(d.amount / 5) * 7 + LONGEST_DAYS_OFF


def _rule_applies_from(
    rule: EscalationRule,
    d: WorkflowDefinition,
    state: str,
    entered_at: datetime,
    last_activity_at: datetime,
    due: date | None,
    tz: str,
) -> datetime | None:
    moments: list[datetime] = []
    for cond, raw in rule.when.items():
        if cond == "sla_exceeded":
            sla = d.states[state].sla
            if raw and sla is not None:
                moments.append(entered_at + timedelta(days=_days_at_least(sla)))
            continue
        dur = Duration(next(iter(raw.values())), next(iter(raw)))
        if cond == "idle":
            moments.append(last_activity_at + timedelta(days=_days_at_least(dur)))
        elif due is None:
            return None  # a condition on the deadline never holds without one
        elif cond == "overdue":
            moments.append(_start_of(due + timedelta(days=1 + _days_at_least(dur)), tz))
        elif cond == "due_in":
            moments.append(_start_of(due - timedelta(days=_days_at_most(dur)), tz))
    # every condition of a rule must hold, so it can apply only once the latest of them can
    return max(moments) if moments else None


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
    if d.escalation is None or d.states[state].final:
        return None
    best: datetime | None = None
    for rule in d.escalation.rules:
        if state not in rule.states:
            continue
        at = _rule_applies_from(rule, d, state, entered_at, last_activity_at, due, tz)
        if at is not None and (best is None or at < best):
            best = at
    return best
