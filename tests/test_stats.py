"""Statistics for a round, reproducible from the history."""

from __future__ import annotations

import pytest
from storyhelpers import add, reviewed

from zhenggai import Engine


def test_counts_rates_and_the_burn_down(engine: Engine, cast, round_, clock):
    clock.set("2026-03-11")
    reviewed(engine, cast, "P1", "immediate")
    engine.sign_off("P1", "inspection_office", actor=cast.office)
    clock.set("2026-03-20")
    engine.fire("P1", "close", actor=cast.office)  # closed in week 2
    add(engine, cast, "P2", "phased", due="2026-04-30", unit="省局/稽查局", owner="sun")
    add(engine, cast, "P3", "immediate", due="2026-05-31")
    engine.fire("P3", "escalate", actor=cast.discipline)
    clock.set("2026-05-10")
    st = engine.stats("R1", actor=cast.office, by="unit")
    assert (st["total"], st["closed"], st["completion_rate"]) == (3, 1, round(1 / 3, 4))
    assert st["immediate_total"] == 2 and st["immediate_completion_rate"] == 0.5
    assert st["overdue"] == 1 and st["supervised"] == 1  # P2 past 30 April; P3 supervised
    assert st["average_days_to_close"] == 9.0
    assert st["by"]["groups"]["省局/稽查局"]["total"] == 1
    weeks = {w["week_ending"]: w["open"] for w in st["burn_down"]}
    assert weeks["2026-03-16"] == 1 and weeks["2026-03-23"] == 2  # P1 open, then closed; P2 and P3 added on the 20th
    # the same numbers for a past date, from the history
    past = engine.stats("R1", actor=cast.office, as_of="2026-03-16")
    assert (past["total"], past["closed"]) == (1, 0)
    # and only what the actor may see
    assert engine.stats("R1", actor=cast.other_owner)["total"] == 1


def test_statistics_as_of_a_date_that_is_not_one_is_refused_naming_the_field(engine, cast, round_):
    from zhenggai.engine.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        engine.stats(round_, actor=cast.office, as_of="someday")
    assert refused.value.details.get("field") == "as_of" and "someday" in refused.value.text.en
