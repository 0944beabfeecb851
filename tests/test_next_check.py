"""Every write stores the issue's traffic light and when the sweep should next look at it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from storyhelpers import add, reviewed

SH = ZoneInfo("Asia/Shanghai")


def test_every_write_keeps_the_light_and_the_check_time_current(engine, cast, round_, clock):
    add(engine, cast, "P1", due="2026-05-29")
    v = engine.issue("P1", cast.office)
    assert (v.light, v.next_check_at) == ("green", datetime(2026, 3, 25, tzinfo=SH))  # the plan's SLA runs out
    engine.add_measure("P1", "措施", owner="li", due_date="2026-05-01", actor=cast.owner)
    engine.fire("P1", "plan", actor=cast.owner)
    # planned: its 5-working-day SLA runs out on 17 March, and its light turns yellow the next day
    assert engine.issue("P1", cast.office).next_check_at == datetime(2026, 3, 18, tzinfo=SH)
    clock.set("2026-05-01")
    engine.sign_off("P1", "unit_lead", actor=cast.lead)  # any activity pushes the idle rule back
    # five working days before Friday 29 May is Friday 22 May
    assert engine.issue("P1", cast.office).next_check_at == datetime(2026, 5, 22, tzinfo=SH)
    clock.set("2026-05-25")
    engine.fire("P1", "start", actor=cast.owner)
    assert engine.issue("P1", cast.office).light == "yellow"
    reviewed(engine, cast, "P2")
    assert engine.issue("P2", cast.office).next_check_at is None  # no rule watches a reviewed item
    assert [v.code for v in engine.issues(cast.office, lights=["yellow"])] == ["P1"]
