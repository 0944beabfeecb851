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

from .calendars import Calendar, calendars
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
    final_deadline: date | None = None  # set by a caution (warn with new_deadline)


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


@dataclass(frozen=True, slots=True)
class _Cond:
    kind: str  # sla_exceeded | due_in | overdue | idle
    dur: Duration | None


def _compile(when: Mapping[str, Any]) -> tuple[_Cond, ...]:
    return tuple(
        _Cond(k, None if k in ("sla_exceeded", "past_final_deadline") else Duration.of(v)) for k, v in when.items()
    )


_ONE_DAY = timedelta(days=1)


class _Days:
    """The local days one evaluation needs, worked out once."""

    __slots__ = ("due", "entered", "final", "last", "today")

    def __init__(self, f: EscalationFacts, now: datetime) -> None:
        tz = ZoneInfo(f.tz)
        self.today = now.astimezone(tz).date()
        self.entered = f.entered_at.astimezone(tz).date()
        self.last = f.last_activity_at.astimezone(tz).date()
        self.due = f.due_date
        self.final = f.final_deadline


class Evaluator:
    """The escalation policy of one workflow version, with its calendar (compiled once)."""

    def __init__(self, d: WorkflowDefinition) -> None:
        self.d = d
        esc = d.escalation
        self.rules = esc.rules if esc else ()
        self.lights = esc.lights if esc else None
        self.cal: Calendar = calendars.get(esc.calendar if esc else "natural")
        self._rules = [(r, _compile(r.when)) for r in self.rules]
        self._lights = [(lr, _compile(lr.when)) for lr in self.lights.rules] if self.lights else []
        self._sla = {name: st.sla for name, st in d.states.items()}
        self._memo: dict[tuple[Any, ...], tuple[str | None, datetime | None]] = {}

    # --- conditions ------------------------------------------------------------------------

    def _holds(self, conds: tuple[_Cond, ...], state: str, k: _Days) -> tuple[bool, bool]:
        est = False
        cal, today = self.cal, k.today
        for c in conds:
            if c.kind == "past_final_deadline":
                if k.final is None or not today > k.final:
                    return False, est
                continue
            if c.kind == "sla_exceeded":
                sla = self._sla[state]
                if sla is None:
                    return False, est
                deadline = cal.add(k.entered, sla)
                est |= deadline.estimated
                if not today > deadline.value:
                    return False, est
                continue
            dur = c.dur
            assert dur is not None
            if c.kind == "idle":
                n = cal.elapsed(k.last, today, dur.unit)
                est |= n.estimated
                if n.value < dur.amount:
                    return False, est
                continue
            due = k.due
            if due is None:
                return False, est
            if c.kind == "due_in":
                if today > due:
                    return False, est
                n = cal.elapsed(today, due, dur.unit)
                est |= n.estimated
                if n.value > dur.amount:
                    return False, est
            else:  # overdue
                if today <= due:
                    return False, est
                n = cal.elapsed(due, today, dur.unit)
                est |= n.estimated
                if n.value <= dur.amount:
                    return False, est
        return True, est

    def _starts(self, conds: tuple[_Cond, ...], state: str, k: _Days, out: list[date]) -> None:
        """Days on which a condition starts (or stops) holding: where to look next."""
        cal = self.cal
        for c in conds:
            kind, dur = c.kind, c.dur
            if kind == "past_final_deadline":
                if k.final is not None:
                    out.append(k.final + _ONE_DAY)
            elif kind == "sla_exceeded":
                sla = self._sla[state]
                if sla is not None:
                    end = (
                        k.entered + timedelta(days=sla.amount) if sla.unit == "days" else cal.add(k.entered, sla).value
                    )
                    out.append(end + _ONE_DAY)
            elif kind == "idle":
                out.append(k.last + timedelta(days=dur.amount) if dur.unit == "days" else cal.add(k.last, dur).value)
            elif k.due is None:
                continue
            elif kind == "due_in":
                due = k.due
                if dur.unit == "days":
                    out.append(due - timedelta(days=dur.amount))
                else:  # the (N+1)th working day at or before the deadline: exact when it is a rest day too
                    out.append(cal.subtract(due + _ONE_DAY, Duration(dur.amount + 1, dur.unit)).value)
                out.append(due + _ONE_DAY)  # when it stops holding
            elif dur.unit == "working_days":  # overdue by more than N working days
                out.append(cal.add(k.due, Duration(dur.amount + 1, dur.unit)).value)
            else:
                out.append(k.due + timedelta(days=dur.amount + 1))

    def _watching(self, f: EscalationFacts) -> list[tuple[EscalationRule, tuple[_Cond, ...]]]:
        return [
            (r, conds)
            for r, conds in self._rules
            if f.state in r.states and r.name not in f.fired and r.applies_to(f.category, f.severity)
        ]

    # --- answers ---------------------------------------------------------------------------

    def due_rules(self, f: EscalationFacts, now: datetime) -> list[DueRule]:
        """Rules for the issue's state whose conditions hold now and that have not fired at
        this stage, in the order the workflow lists them."""
        k = _Days(f, now)
        out: list[DueRule] = []
        for rule, conds in self._watching(f):
            ok, est = self._holds(conds, f.state, k)
            if ok:
                deadline = None
                if rule.new_deadline is not None:
                    r = self.cal.add(k.today, rule.new_deadline)
                    deadline, est = r.value, est or r.estimated
                out.append(DueRule(rule, deadline, est))
        return out

    def light(self, f: EscalationFacts, now: datetime) -> str | None:
        if self.lights is None or self.d.states[f.state].final:
            return None
        k = _Days(f, now)
        for lr, conds in self._lights:
            if (lr.states is None or f.state in lr.states) and self._holds(conds, f.state, k)[0]:
                return lr.light
        return self.lights.default

    def schedule(self, f: EscalationFacts, now: datetime) -> tuple[str | None, datetime | None]:
        """``(light, next_check)``: what every write stores.

        Both depend on the issue only through its state, category, severity, fired rules,
        deadline and the days it entered its state and was last worked on, and on today's
        date — and a day's writes share most of those (lists carry a few common deadlines, and
        every write happens today), so answers are memoised per day (bounded)."""
        k = _Days(f, now)
        key = (f.state, f.category, f.severity, f.fired, f.due_date, f.final_deadline, k.entered, k.last, k.today, f.tz)
        hit = self._memo.get(key)
        if hit is None:
            if len(self._memo) > 50_000:
                self._memo.clear()
            hit = self._memo[key] = (self.light(f, now), self.next_check(f, now))
        return hit  # a "due at once" answer memoised earlier today is still in the past: still due

    def next_check(self, f: EscalationFacts, now: datetime) -> datetime | None:
        """The first moment after ``now`` at which a rule not yet fired could become due or
        the light could change; ``now`` itself if a rule is due already; ``None`` if nothing
        ever can (a closed issue)."""
        if self.d.states[f.state].final:
            return None
        k = _Days(f, now)
        days: list[date] = []
        for _rule, conds in self._watching(f):
            if self._holds(conds, f.state, k)[0]:
                return now  # a rule is due already (say, an overdue item sent back): look at once
            self._starts(conds, f.state, k, days)
        for lr, conds in self._lights:
            if lr.states is None or f.state in lr.states:
                self._starts(conds, f.state, k, days)
        today = k.today
        future = [d for d in days if d > today]
        return start_of(min(future), f.tz) if future else None


_EVALUATORS: dict[str, Evaluator] = {}


def evaluator_for(d: WorkflowDefinition) -> Evaluator:
    ev = _EVALUATORS.get(d.digest)
    if ev is None:
        ev = _EVALUATORS[d.digest] = Evaluator(d)
    return ev


def forget_memos() -> None:
    """Forget every policy's memoised lights and next checks (after a calendar change)."""
    _EVALUATORS.clear()
