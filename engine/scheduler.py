"""The scheduler: APScheduler 3 runs the escalation sweep and the outbox delivery.

Several nodes may run ``zhenggai scheduler run`` against one PostgreSQL database.  APScheduler
3 must never share a job store between processes, so each node keeps its jobs in memory and
the jobs themselves are safe to run anywhere at once: the sweep claims issues with ``FOR
UPDATE SKIP LOCKED`` and records each rule once per issue and stage; delivery claims notices
the same way.  There is no leader to elect and no lock to lose.

Jobs coalesce and have a generous misfire grace time (APScheduler's default of one second
silently skips runs after a pause); a sweep missed during downtime needs no catching up of
its own, because the sweep is driven by each issue's dates, not by counting runs.  SIGTERM
and SIGINT stop the scheduler cleanly: the sweep stops between batches, and every batch is
one transaction, so nothing is left half-written.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .calendars import calendars
from .clock import DEFAULT_TZ, local_date

log = logging.getLogger("zhenggai.scheduler")

DEFAULT_CRON = "0 * * * *"  # hourly; on days off the sweep job does nothing (see working_days_only)


class Scheduler:
    def __init__(
        self,
        engine: Any,
        *,
        cron: str = DEFAULT_CRON,
        interval: float | None = None,
        deliver_every: float = 60,
        working_days_only: bool = True,
        tz: str = DEFAULT_TZ,
    ) -> None:
        self.engine = engine
        self.tz = tz
        self.working_days_only = working_days_only
        self.stopping = threading.Event()
        self.scheduler = BlockingScheduler(
            timezone=tz,
            job_defaults={"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1},
        )
        trigger = (
            IntervalTrigger(seconds=interval, timezone=tz) if interval else CronTrigger.from_crontab(cron, timezone=tz)
        )
        self.scheduler.add_job(self.sweep_job, trigger, id="sweep", name="escalation sweep")
        self.scheduler.add_job(
            self.deliver_job, IntervalTrigger(seconds=deliver_every, timezone=tz), id="deliver", name="outbox delivery"
        )

    def sweep_job(self) -> None:
        now = self.engine.clock.now()
        if self.working_days_only:
            working, _ = calendars.get("cn_working_days").is_working_day(local_date(now, self.tz))
            if not working:
                log.info("sweep skipped: %s is not a working day", local_date(now, self.tz))
                return
        report = self.engine.sweep(should_stop=self.stopping.is_set)
        log.info(
            "sweep at %s: %d issues checked, %d rules fired%s",
            now.isoformat(),
            report.checked,
            len(report.fired),
            " (stopped early)" if self.stopping.is_set() else "",
        )
        for f in report.fired:
            log.info("  %s %s -> %s (%s)", f["issue"], f["rule"], f["action"], f["outcome"])

    def deliver_job(self) -> None:
        """Deliver until nothing is due (not just one batch), or until told to stop."""
        while not self.stopping.is_set():
            report = self.engine.deliver(should_stop=self.stopping.is_set)
            if report.delivered or report.failed:
                log.info("delivery: %d delivered, %d failed, %d given up", report.delivered, report.failed, report.dead)
            if report.delivered + report.failed == 0:
                break

    def stop(self, *_: Any) -> None:
        log.info("stopping: finishing the current batch")
        self.stopping.set()
        self.scheduler.shutdown(wait=False)

    def run(self) -> None:
        """Block until SIGTERM or SIGINT; then finish the batch in hand and return."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        log.info("scheduler started: jobs %s", [f"{j.name} ({j.trigger})" for j in self.scheduler.get_jobs()])
        self.scheduler.start()
        log.info("scheduler stopped")
