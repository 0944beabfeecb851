"""Every write records when the escalation sweep should next look at the issue: never later
than the earliest moment one of the workflow's rules could apply."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from zhenggai.engine.definition import builtin
from zhenggai.engine.escalation import next_check

D = builtin()
SH = ZoneInfo("Asia/Shanghai")
ENTERED = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def at(state: str, due: date | None, last: datetime = ENTERED) -> datetime | None:
    return next_check(D, state, entered_at=ENTERED, last_activity_at=last, due=due, tz="Asia/Shanghai")


def test_identified_is_checked_when_its_sla_could_first_run_out():
    # sla 10 working days: no sooner than 10 natural days after entering
    assert at("identified", None) == datetime(2026, 3, 20, 2, 0, tzinfo=UTC)


def test_in_progress_is_checked_before_the_deadline_warning_could_apply():
    # due_in 5 working days can span at most 7 + 9 natural days before the deadline
    recently = datetime(2026, 9, 1, tzinfo=UTC)  # so the idle rule (30 days) comes later
    assert at("in_progress", date(2026, 9, 30), last=recently) == datetime(2026, 9, 14, tzinfo=SH)


def test_idle_time_brings_the_check_forward_when_it_comes_first():
    assert at("in_progress", date(2027, 9, 30)) == datetime(2026, 4, 9, 2, 0, tzinfo=UTC)  # 30 days idle


def test_without_a_deadline_only_the_idle_rule_remains():
    # (planned has an SLA, but no rule of the shipped workflow watches it)
    assert at("planned", None) == datetime(2026, 4, 9, 2, 0, tzinfo=UTC)


def test_supervised_items_are_checked_for_raising_a_level_after_the_deadline():
    # raise: overdue by 20 working days, no sooner than 20 natural days after the due day
    assert at("supervised", date(2026, 6, 30)) == datetime(2026, 7, 21, tzinfo=SH)


def test_closed_items_are_never_checked():
    assert at("closed", date(2026, 6, 30)) is None
    assert at("reviewed", date(2026, 6, 30)) is None  # no rule watches this state


def test_every_write_keeps_the_stored_check_time_current(engine, cast, round_, clock):
    from storyhelpers import add, reviewed

    add(engine, cast, "P1", due="2026-05-31")
    v = engine.issue("P1", cast.office)
    assert v.next_check_at == datetime(2026, 3, 20, 1, 0, tzinfo=UTC)  # created 09:00 CST + 10 days
    engine.add_measure("P1", "措施", owner="li", due_date="2026-05-01", actor=cast.owner)
    engine.fire("P1", "plan", actor=cast.owner)
    # planned: 30 idle days come before the deadline warning (no sooner than 2026-05-15)
    assert engine.issue("P1", cast.office).next_check_at == datetime(2026, 4, 9, 1, 0, tzinfo=UTC)
    clock.set("2026-05-01")
    engine.sign_off("P1", "unit_lead", actor=cast.lead)  # any activity pushes the idle rule back
    assert engine.issue("P1", cast.office).next_check_at == datetime(2026, 5, 15, tzinfo=SH)
    reviewed(engine, cast, "P2")
    assert engine.issue("P2", cast.office).next_check_at is None
