"""Escalation rules and traffic lights: pure functions of (issue, now, calendar).

Each rule of a workflow's ``escalation:`` block names the states it watches, conditions
(time in state beyond the state's SLA, days to the deadline, days overdue, days without any
activity — in natural or working days), optional categories and severities, and an action.
:class:`Evaluator` answers three questions about one issue at one moment:

* which rules are due now (and not yet fired at the issue's current stage),
* what colour its traffic light shows,
* when the sweep should next look at it (``next_check_at``): the first future day on which a
  rule could fire or the light could change.  The sweep reads only issues whose moment has
  come, so its cost grows with the issues that are due, not with all issues.

Nothing here touches the database; every rule can be tested with a date and a calendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from .calendar import Calendar, calendars
from .definition import EscalationRule, WorkflowDefinition
from .durations import Duration


@dataclass(frozen=True, slots=True)
class EscalationFacts:
    state: str
    category: str
    severity: str
    entered_at: datetime
    last_activity_at: datetime
    due_date: date | None
    tz: str
    fired: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class DueRule:
    rule: EscalationRule
    new_deadline: date | None
    estimated: bool  # a working-day count leaned on the calendar's fallback (see calendar.py)


@lru_cache(maxsize=4096)
def start_of(day: date, tz: str) -> datetime:
    """Midnight starting ``day`` in ``tz``, as UTC."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def local_day(at: datetime, tz: str) -> date:
    return at.astimezone(ZoneInfo(tz)).date()


class Evaluator:
    """The escalation policy of one workflow version, with its calendar."""

    def __init__(self, d: WorkflowDefinition) -> None:
        self.d = d
        esc = d.escalation
        self.rules = esc.rules if esc else ()
        self.lights = esc.lights if esc else None
        self.cal: Calendar = calendars.get(esc.calendar if esc else "natural")

    # --- conditions ------------------------------------------------------------------------

    def _holds(self, when: Mapping[str, Any], f: EscalationFacts, today: date) -> tuple[bool, bool]:
        est = False
        for cond, raw in when.items():
            if cond == "sla_exceeded":
                sla = self.d.states[f.state].sla
                if sla is None:
                    return False, est
                deadline = self.cal.add(local_day(f.entered_at, f.tz), sla)
                est |= deadline.estimated
                if not today > deadline.value:
                    return False, est
                continue
            dur = Duration.of(raw)
            if cond == "idle":
                n = self.cal.elapsed(local_day(f.last_activity_at, f.tz), today, dur.unit)
                est |= n.estimated
                if n.value < dur.amount:
                    return False, est
                continue
            due = f.due_date
            if due is None:
                return False, est
            if cond == "due_in":
                if today > due:
                    return False, est
                n = self.cal.elapsed(today, due, dur.unit)
                est |= n.estimated
                if n.value > dur.amount:
                    return False, est
            elif cond == "overdue":
                if today <= due:
                    return False, est
                n = self.cal.elapsed(due, today, dur.unit)
                est |= n.estimated
                if n.value <= dur.amount:
                    return False, est
        return True, est

    def _starts(self, when: Mapping[str, Any], f: EscalationFacts) -> list[date]:
        """Days on which a condition of ``when`` starts (or stops) holding: where to look next."""
        days: list[date] = []
        for cond, raw in when.items():
            if cond == "sla_exceeded":
                sla = self.d.states[f.state].sla
                if sla is not None:
                    days.append(self.cal.add(local_day(f.entered_at, f.tz), sla).value + timedelta(days=1))
                continue
            dur = Duration.of(raw)
            if cond == "idle":
                days.append(self.cal.add(local_day(f.last_activity_at, f.tz), dur).value)
            elif f.due_date is not None and cond == "due_in":
                days.append(self.cal.subtract(f.due_date, dur).value)
                days.append(f.due_date + timedelta(days=1))  # when it stops holding
            elif f.due_date is not None and cond == "overdue":
                step = Duration(dur.amount + 1, dur.unit) if dur.unit == "working_days" else dur
                days.append(
                    self.cal.add(f.due_date, step).value + (timedelta(days=1) if dur.unit == "days" else timedelta())
                )
        return days

    # --- answers ---------------------------------------------------------------------------

    def due_rules(self, f: EscalationFacts, now: datetime) -> list[DueRule]:
        """Rules for the issue's state whose conditions hold now and that have not fired at
        this stage, in the order the workflow lists them."""
        today = local_day(now, f.tz)
        out: list[DueRule] = []
        for rule in self.rules:
            if f.state not in rule.states or rule.name in f.fired or not rule.applies_to(f.category, f.severity):
                continue
            ok, est = self._holds(rule.when, f, today)
            if ok:
                deadline = None
                if rule.new_deadline is not None:
                    r = self.cal.add(today, rule.new_deadline)
                    deadline, est = r.value, est or r.estimated
                out.append(DueRule(rule, deadline, est))
        return out

    def light(self, f: EscalationFacts, now: datetime) -> str | None:
        if self.lights is None or self.d.states[f.state].final:
            return None
        today = local_day(now, f.tz)
        for lr in self.lights.rules:
            if (lr.states is None or f.state in lr.states) and self._holds(lr.when, f, today)[0]:
                return lr.light
        return self.lights.default

    def next_check(self, f: EscalationFacts, now: datetime) -> datetime | None:
        """The first moment after ``now`` at which a rule not yet fired could become due or
        the light could change; ``None`` if nothing ever can (a closed issue)."""
        if self.d.states[f.state].final:
            return None
        if self.due_rules(f, now):
            return now  # a rule is due already (say, an overdue item sent back): look at once
        today = local_day(now, f.tz)
        days: list[date] = []
        for rule in self.rules:
            if f.state in rule.states and rule.name not in f.fired and rule.applies_to(f.category, f.severity):
                days += self._starts(rule.when, f)
        if self.lights is not None:
            for lr in self.lights.rules:
                if lr.states is None or f.state in lr.states:
                    days += self._starts(lr.when, f)
        future = [d for d in days if d > today]
        return start_of(min(future), f.tz) if future else None


_EVALUATORS: dict[str, Evaluator] = {}


def evaluator_for(d: WorkflowDefinition) -> Evaluator:
    ev = _EVALUATORS.get(d.digest)
    if ev is None:
        ev = _EVALUATORS[d.digest] = Evaluator(d)
    return ev
