"""The caution's last deadline (告诫) is counted from the day the caution is issued, as the
README says: a sweep catching up on missed days cautions first, and the unit gets its ten
working days from then."""

from __future__ import annotations

from datetime import date

from storyhelpers import started
from test_sweep import sweep_on

from zhenggai import Engine
from zhenggai.engine.calendars import calendars


def test_a_late_sweeps_caution_gives_ten_working_days_from_the_day_it_is_issued(engine: Engine, cast, round_):
    started(engine, cast, "P1", "phased", due="2026-04-30")
    fired = {f["rule"]: f for f in sweep_on(engine, "2026-06-01").fired if f["issue"] == "P1"}
    assert "caution" in fired and "supervise" not in fired  # a month overdue, yet cautioned first
    expected = calendars.get("cn_working_days").add_working_days(date(2026, 6, 1), 10).value
    assert fired["caution"]["new_deadline"] == expected.isoformat() == "2026-06-15"
