"""A process killed (SIGKILL) in the middle of its work: an import, a sweep, a delivery.

Each story runs the real command line in a child process against the test's database, kills
it once it is demonstrably half-way, and then checks what a crash may and may not leave: the
database is consistent (dbchecks.assert_consistent), nothing is half-written, and running the
same command again finishes the work without doing any of it twice — except where delivery is
at least once, and then exactly as far as that allows.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from dbchecks import assert_consistent, issues_in_round, rows, scalar

from zhenggai import Engine
from zhenggai.engine.notifiers import sign

pytestmark = pytest.mark.slow

CLI = "from zhenggai.cli import main; main()"

# the same command line, reporting each batch of issues it inserts (inside its one transaction)
# to a file, so the test can see that the import is half-way before it kills it
IMPORT_REPORTING_BATCHES = """
import os
from zhenggai.storage.repositories.issues import IssueRepository
from zhenggai.cli import main

insert_issues = IssueRepository.insert_many

def reporting(self, rows):
    ids = insert_issues(self, rows)
    with open(os.environ["BATCHES_FILE"], "a") as f:
        f.write(f"{len(rows)}\\n")
    return ids

IssueRepository.insert_many = reporting
main()
"""

SECRET = "s3cret-s3cret-s3"


def child_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHENGGAI_") or k == "ZHENGGAI_CHAIN_KEY"}
    return {**env, "ZHENGGAI_DB": db_url, "ZHENGGAI_LANG": "en", **extra}


def zhenggai(env: dict[str, str], *args: str, script: str = CLI) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=120)


def killed_halfway(
    env: dict[str, str], args: list[str], halfway: Callable[[], bool], tmp_path: Path, *, script: str = CLI
) -> bool:
    """Start the command; once ``halfway()`` holds, SIGKILL it.  True if the kill landed while it
    was still working, False if it finished first (the caller then tries with more work)."""
    with open(tmp_path / "child.out", "w") as out:
        proc = subprocess.Popen([sys.executable, "-c", script, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        try:
            while not halfway():
                if proc.poll() is not None:
                    break
                assert time.monotonic() < deadline, "the command never got half-way"
                time.sleep(0.005)  # polling, not synchronisation
            proc.send_signal(signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(30)
    if proc.returncode not in (0, -signal.SIGKILL):
        pytest.fail(f"the command failed on its own ({proc.returncode}): {(tmp_path / 'child.out').read_text()}")
    return proc.returncode == -signal.SIGKILL


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def problem_list(path: Path, n: int, *, due: str = "2026-05-31") -> Path:
    """A list as offices write them: n phased problems, two measures each."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["序号", "问题", "问题类别", "整改措施", "责任领导", "责任部门", "责任人", "整改时限"])
        for i in range(1, n + 1):
            w.writerow([i, f"问题{i}", "限期整改", "清查整改\n建立制度", "赵刚", "财务处", "李明", due])
    return path


def open_round(engine: Engine, cast, code: str) -> None:
    engine.open_round(code, title="省委巡视组反馈", org="省局", feedback_date="2026-03-10", actor=cast.office)


def test_an_import_killed_half_way_leaves_nothing_and_the_rerun_imports_every_row_once(
    engine: Engine, cast, db_url, tmp_path
):
    n = 20_000
    for attempt in range(3):
        round_code = f"R{attempt}"
        open_round(engine, cast, round_code)
        listing = problem_list(tmp_path / f"list-{attempt}.csv", n)
        batches = tmp_path / f"batches-{attempt}"
        env = child_env(db_url, BATCHES_FILE=str(batches))

        args = ["issue", "import", str(listing), "--round", round_code, "--as", "wang"]
        # three batches of a thousand issues, with their events and measures, are written
        if killed_halfway(env, args, lambda f=batches: lines(f) >= 3, tmp_path, script=IMPORT_REPORTING_BATCHES):
            break
        n *= 2  # it finished before the kill: a bigger list
    else:
        pytest.fail("the import finished every time before it could be killed")
    assert 3 <= lines(batches) < n / 1000  # killed with issues written, before the last batch

    # all or nothing: the rows written before the kill died with its transaction
    assert issues_in_round(engine, round_code) == 0
    assert_consistent(engine)

    rerun = zhenggai(env, "--json", *args)
    assert rerun.returncode == 0, rerun.stderr
    assert len(json.loads(rerun.stdout)["created"]) == n
    assert issues_in_round(engine, round_code) == n
    assert (
        scalar(
            engine,
            "SELECT count(*) FROM measures m JOIN issues i ON i.id = m.issue_id JOIN rounds r ON r.id = i.round_id "
            "WHERE r.code = :r",
            r=round_code,
        )
        == 2 * n
    )
    assert_consistent(engine, verify_at_most=500)
    again = zhenggai(env, "--json", *args)  # and a third time adds nothing
    assert again.returncode == 0 and json.loads(again.stdout)["created"] == []
    assert issues_in_round(engine, round_code) == n


def test_a_sweep_killed_half_way_keeps_what_it_committed_and_the_rerun_escalates_each_issue_once(
    engine: Engine, cast, db_url, tmp_path
):
    # problems never planned: ten working days after 10 March each is due for its plan_late reminder
    as_of = "2026-03-25"
    env = child_env(db_url)
    n = 3000
    for attempt in range(3):
        round_code = f"R{attempt}"
        open_round(engine, cast, round_code)
        engine.import_issues(round_code, problem_list(tmp_path / f"list-{attempt}.csv", n), actor=cast.office)
        before = scalar(engine, "SELECT count(*) FROM escalations")
        args = ["--backdate", "sweep", "--as-of", as_of, "--batch", "50"]  # the data lies in the past
        # two batches of fifty committed
        if killed_halfway(
            env, args, lambda b=before: scalar(engine, "SELECT count(*) FROM escalations") >= b + 100, tmp_path
        ):
            break
        n *= 2
    else:
        pytest.fail("the sweep finished every time before it could be killed")

    def escalated() -> list[tuple]:
        return rows(
            engine,
            "SELECT i.code, x.rule, x.stage_seq FROM escalations x JOIN issues i ON i.id = x.issue_id "
            "JOIN rounds r ON r.id = i.round_id WHERE r.code = :r",
            r=round_code,
        )

    done = escalated()
    assert 100 <= len(done) < n  # each batch it committed is kept, the one it was in is gone
    assert {rule for _, rule, _ in done} == {"plan_late"}
    assert_consistent(engine)
    notices = "SELECT count(*) FROM outbox o JOIN issues i ON i.id = o.issue_id JOIN rounds r ON r.id = i.round_id "
    notices += "WHERE r.code = :r"
    assert scalar(engine, notices, r=round_code) == 2 * len(done)  # owner and unit lead, for each rule applied

    rerun = zhenggai(env, "--json", *args)
    assert rerun.returncode == 0, rerun.stderr
    assert len(json.loads(rerun.stdout)["fired"]) == n - len(done)  # exactly the rest
    final = escalated()
    assert sorted(final) == sorted((f"{round_code}-{i}", "plan_late", 0) for i in range(1, n + 1))
    assert scalar(engine, notices, r=round_code) == 2 * n
    assert_consistent(engine)
    again = zhenggai(env, "--json", *args)
    assert again.returncode == 0 and json.loads(again.stdout)["fired"] == []  # the same sweep again: nothing


class SlowReceiver(BaseHTTPRequestHandler):
    """A webhook receiver that takes its time, and notes every notice it is handed, by id."""

    delay = 0.1
    seen: list[str] = []  # noqa: RUF012 - reset by the test
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers["webhook-signature"] != sign(
            SECRET, self.headers["webhook-id"], self.headers["webhook-timestamp"], body
        ):
            self.send_response(401)
            self.end_headers()
            return
        with self.lock:
            type(self).seen.append(json.loads(body)["id"])
        time.sleep(self.delay)  # a slow receiver: the sender waits for the answer
        try:
            self.send_response(204)
            self.end_headers()
        except OSError:
            pass  # the sender was killed while waiting

    def log_message(self, *args):
        pass


def test_a_delivery_killed_half_way_loses_no_notice_and_repeats_at_most_the_one_in_flight(
    engine: Engine, cast, db_url, tmp_path, clock
):
    """What the outbox guarantees: every notice reaches the receiver; a notice is marked delivered
    only after the receiver accepted it, so the one a killed deliverer was sending when it died
    is sent again — at least once, never lost — and is the only one the receiver sees twice; it
    carries the same id both times, so the receiver can drop the second.  Notices claimed by the
    dead process wait for their five-minute lease before another deliverer takes them."""
    SlowReceiver.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        clock.set("2026-03-10 10:00")
        engine.channels = ["webhook"]  # the change feed: one notice for every event
        open_round(engine, cast, "R1")
        engine.import_issues("R1", problem_list(tmp_path / "list.csv", 40), actor=cast.office)
        ids = [k for (k,) in rows(engine, "SELECT dedupe_key FROM outbox WHERE channel = 'webhook'")]
        assert len(ids) == 40

        env = child_env(
            db_url, ZHENGGAI_WEBHOOK_URL=f"http://127.0.0.1:{server.server_port}/hook", ZHENGGAI_WEBHOOK_SECRET=SECRET
        )
        args = ["--as-of", "2026-03-10T10:00", "outbox", "deliver"]
        assert killed_halfway(env, args, lambda: len(SlowReceiver.seen) >= 10, tmp_path), "delivery finished first"
        with SlowReceiver.lock:
            seen_at_kill = list(SlowReceiver.seen)
        assert 10 <= len(seen_at_kill) < 40
        delivered = {k for (k,) in rows(engine, "SELECT dedupe_key FROM outbox WHERE status = 'delivered'")}
        assert delivered <= set(seen_at_kill)  # marked delivered only once the receiver took it
        assert len(delivered) >= len(seen_at_kill) - 1  # all but the one it was sending when killed
        assert_consistent(engine)

        right_away = zhenggai(env, "--json", *args)  # the dead deliverer's claims still hold
        assert right_away.returncode == 0 and json.loads(right_away.stdout)["delivered"] == 0

        later = zhenggai(env, "--json", "--as-of", "2026-03-10T10:06", "outbox", "deliver")  # the lease has run out
        assert later.returncode == 0, later.stderr
        assert json.loads(later.stdout)["delivered"] == 40 - len(delivered)
        assert {s for (s,) in rows(engine, "SELECT DISTINCT status FROM outbox")} == {"delivered"}

        times = Counter(SlowReceiver.seen)
        assert set(times) == set(ids)  # no notice lost
        twice = {k for k, c in times.items() if c > 1}
        assert max(times.values()) <= 2 and twice <= {seen_at_kill[-1]}  # at most the one in flight, once more
        assert len(times) == 40  # de-duplicated by id, the receiver has each notice once
    finally:
        server.shutdown()
