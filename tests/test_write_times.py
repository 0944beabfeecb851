"""A write that waited for another is dated after it: the history's times never go backwards
under concurrent writers (audit verify would report them), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from storyhelpers import started

from zhenggai import Engine
from zhenggai.engine.clock import to_utc


class SlowToAnswer:
    """A clock that, for the threads in ``slow``, takes half a second to give its answer: a
    process descheduled between reading the time and taking the issue's lock."""

    def __init__(self) -> None:
        self.t = to_utc("2026-03-12 10:00")
        self.lock = threading.Lock()
        self.slow: set[int] = set()

    def now(self):  # type: ignore[no-untyped-def]
        with self.lock:
            self.t += timedelta(seconds=1)
            value = self.t
        if threading.get_ident() in self.slow:
            time.sleep(0.5)
        return value


def test_a_write_that_waited_for_another_is_dated_after_it(db_url: str, cast):
    clock = SlowToAnswer()
    engine = Engine(db_url, clock=clock)
    engine.init()
    engine.open_round("R1", title="巡视反馈", org="省局", feedback_date="2026-03-10", actor=cast.office)
    started(engine, cast, "P1", "phased", due="2026-06-30")
    errors: list[BaseException] = []

    def write(title: str, slow: bool) -> None:
        if slow:
            clock.slow.add(threading.get_ident())
        try:
            engine.add_mechanism("P1", title, actor=cast.owner)
        except BaseException as exc:  # reported below
            errors.append(exc)

    first = threading.Thread(target=write, args=("制度一", True))
    second = threading.Thread(target=write, args=("制度二", False))
    first.start()
    time.sleep(0.1)  # the first has its time and is slow to go on; the second comes in meanwhile
    second.start()
    first.join(30)
    second.join(30)
    assert errors == []
    report = engine.verify("P1", cast.office)
    assert report.ok, report.to_dict() if hasattr(report, "to_dict") else report
    events = engine.history("P1", cast.office)
    times = [e["at"] for e in events]
    assert times == sorted(times)
    engine.db.dispose()
