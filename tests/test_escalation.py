"""The escalation ladder and the traffic lights, as pure functions of (issue, now, calendar):
no database, the clock is a date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from zhenggai.engine.calendars import calendars
from zhenggai.engine.definition import builtin
from zhenggai.engine.durations import Duration
from zhenggai.engine.escalation import EscalationFacts, Evaluator

SH = ZoneInfo("Asia/Shanghai")
POLICY = Evaluator(builtin())


def at(day: str, hour: int = 10) -> datetime:
    y, m, d = map(int, day.split("-"))
    return datetime(y, m, d, hour, tzinfo=SH)


def facts(
    state="in_progress",
    *,
    entered="2026-03-10",
    last=None,
    due="2026-09-30",
    fired=("idle",),
    category="phased",
    final=None,
):
    """An issue's escalation facts; by default its idle reminder has fired already, so that the
    tests of the other rules are not interrupted by it (it has a test of its own)."""
    return EscalationFacts(
        state,
        category,
        "normal",
        at(entered, 9),
        at(last or entered, 9),
        date.fromisoformat(due) if due else None,
        "Asia/Shanghai",
        frozenset(fired),
        date.fromisoformat(final) if final else None,
    )


def due(f, day):
    return [d.rule.name for d in POLICY.due_rules(f, at(day))]


def test_the_chinese_calendar_knows_make_up_working_days_and_holidays():
    cal = calendars.get("cn_working_days")
    assert cal.is_working_day(date(2026, 9, 20)) == (True, False)  # a Sunday made a working day (调休)
    assert cal.is_working_day(date(2026, 10, 5)) == (False, False)  # National Day week
    assert cal.add(date(2026, 9, 30), Duration(1, "working_days")).value == date(2026, 10, 8)


def test_a_year_the_calendar_does_not_know_yet_is_counted_monday_to_friday_and_marked(caplog):
    cal = calendars.get("cn_working_days")
    r = cal.add(date(2027, 1, 1), Duration(5, "working_days"))
    assert r.estimated and r.value == date(2027, 1, 8)
    f = facts(due="2027-01-15")
    [reminder] = POLICY.due_rules(f, at("2027-01-11"))
    assert reminder.rule.name == "reminder" and reminder.estimated


def test_an_item_not_planned_within_its_sla_gets_one_reminder():
    f = facts("identified", entered="2026-03-10", due=None)
    assert due(f, "2026-03-24") == []  # ten working days after 10 March is 24 March
    assert due(f, "2026-03-25") == ["plan_late"]
    assert due(facts("identified", entered="2026-03-10", due=None, fired=["plan_late", "idle"]), "2026-04-30") == []


def test_five_working_days_before_the_deadline_the_light_turns_yellow_and_the_owner_is_reminded():
    f = facts(due="2026-06-30")
    assert POLICY.light(f, at("2026-06-22")) == "green"
    assert POLICY.light(f, at("2026-06-23")) == "yellow"
    assert due(f, "2026-06-23") == ["reminder"]


def test_a_holiday_week_moves_the_warning_the_way_the_official_calendar_says():
    # due Friday 9 October 2026: the National Day week and the Mid-Autumn holiday lie before it,
    # so five working days before it is Thursday 24 September — fifteen natural days early
    f = facts(due="2026-10-09")
    assert POLICY.light(f, at("2026-09-23")) == "green"
    assert POLICY.light(f, at("2026-09-24")) == "yellow"
    assert POLICY.next_check(f, at("2026-09-22")) == datetime(2026, 9, 24, tzinfo=SH)


def test_an_sla_counts_a_sunday_made_a_working_day():
    f = facts("identified", entered="2026-09-18", due=None)  # Friday; Sunday 20 September is worked
    assert due(f, "2026-10-09") == []
    assert due(f, "2026-10-10") == ["plan_late"]


def test_overdue_items_are_cautioned_then_supervised_then_raised_a_level():
    f = facts(due="2026-06-30")
    assert due(f, "2026-06-30") == ["reminder"]
    [caution] = POLICY.due_rules(facts(due="2026-06-30", fired=["reminder", "idle"]), at("2026-07-01"))
    assert caution.rule.name == "caution" and caution.rule.action == "warn"
    assert caution.new_deadline == date(2026, 7, 15)  # ten working days on: the last deadline
    assert POLICY.light(f, at("2026-07-01")) == "red"
    cautioned = facts(due="2026-06-30", fired=["reminder", "caution", "idle"], final="2026-07-15")
    assert due(cautioned, "2026-07-15") == []  # the last deadline itself
    assert due(cautioned, "2026-07-16") == ["supervise"]  # the caution's last deadline has passed
    supervised = facts("supervised", entered="2026-07-16", due="2026-06-30")
    assert due(supervised, "2026-08-11") == []
    assert due(supervised, "2026-08-12") == ["accountability"]  # thirty working days overdue


def test_thirty_idle_days_bring_a_reminder():
    f = facts(due="2027-06-30", last="2026-03-10", fired=())
    assert due(f, "2026-04-08") == []
    assert due(f, "2026-04-09") == ["idle"]


def test_closed_items_have_no_light_and_are_never_checked():
    f = facts("closed", due="2026-06-30")
    assert POLICY.light(f, at("2026-08-01")) is None
    assert POLICY.next_check(f, at("2026-08-01")) is None


@pytest.mark.parametrize("day", ["2026-03-11", "2026-05-01", "2026-06-22", "2026-06-29", "2026-07-02", "2026-07-20"])
def test_the_next_check_is_never_later_than_the_next_change(day):
    """Walk every day up to the next check: nothing may become due, and the light may not
    change, before the moment the sweep was told to look."""
    f = facts(due="2026-06-30", fired=[], last="2026-03-10")
    now = at(day)
    check = POLICY.next_check(f, now)
    light_now, due_now = POLICY.light(f, now), due(f, day)
    d = now.date()
    while check is not None and datetime(d.year, d.month, d.day, tzinfo=SH) < check:
        probe = at(d.isoformat())
        assert POLICY.light(f, probe) == light_now and due(f, d.isoformat()) == due_now, d
        d = date.fromordinal(d.toordinal() + 1)


def test_the_next_check_is_now_when_a_rule_is_already_due():
    now = at("2026-07-05")
    assert POLICY.next_check(facts(due="2026-06-30"), now) == now  # overdue, not yet cautioned
    later = POLICY.next_check(facts(due="2026-06-30", fired=["idle", "reminder", "caution"], final="2026-07-15"), now)
    assert later.astimezone(UTC) == datetime(2026, 7, 16, tzinfo=SH).astimezone(UTC)  # then: supervise
