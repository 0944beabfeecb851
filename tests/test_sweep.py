"""The escalation sweep over a simulated calendar: nothing sleeps, the clock is set."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from storyhelpers import add, started

from zhenggai import Engine
from zhenggai.engine.notifiers import WebhookNotifier, sign


def sweep_on(engine: Engine, day: str):
    """The day's sweep: the clock moved on to that day (never back), then the sweep as of now —
    escalations are dated when they happen, so a sweep is not asked as of a later day."""
    from zhenggai.engine.clock import to_utc

    if to_utc(day) > engine.clock.now():
        engine.clock.set(day)  # type: ignore[attr-defined]
    assert engine.clock.now() == to_utc(day), "a sweep of a day already past: the clock does not go back"
    return engine.sweep()


def fired(report) -> list[tuple[str, str]]:
    return [(f["issue"], f["rule"]) for f in report.fired]


@pytest.fixture
def working(engine: Engine, cast, round_, clock):
    """A phased item due Tuesday 30 June 2026, started on 12 March."""
    clock.set("2026-03-12")
    started(engine, cast, "P1", "phased", due="2026-06-30")
    return "P1"


def test_the_ladder_from_reminder_to_accountability(engine: Engine, cast, working):
    r = sweep_on(engine, "2026-06-22")
    assert ("P1", "reminder") not in fired(r)
    r = sweep_on(engine, "2026-06-23")
    assert ("P1", "reminder") in fired(r)
    assert engine.issue("P1", cast.office).light == "yellow"
    assert fired(sweep_on(engine, "2026-06-23")) == []  # the same sweep again changes nothing

    r = sweep_on(engine, "2026-07-01")
    [caution] = [f for f in r.fired if f["rule"] == "caution"]
    assert caution["action"] == "warn" and caution["new_deadline"] == "2026-07-15"
    assert engine.issue("P1", cast.office).light == "red"

    assert ("P1", "supervise") not in fired(sweep_on(engine, "2026-07-15"))  # the last deadline is today
    r = sweep_on(engine, "2026-07-16")
    assert ("P1", "supervise") in fired(r)
    v = engine.issue("P1", cast.office)
    assert v.state == "supervised" and v.escalation_level == 0
    last = engine.history("P1", cast.office)[-1]
    assert (last["trigger"], last["actor"], last["role"], last["data"]["rule"]) == (
        "escalate",
        "system",
        "system",
        "supervise",
    )

    assert fired(sweep_on(engine, "2026-08-11")) == []
    r = sweep_on(engine, "2026-08-12")
    assert fired(r) == [("P1", "accountability")]
    assert engine.issue("P1", cast.office).escalation_level == 1
    assert engine.verify("P1", cast.office).ok


def test_notices_go_to_the_people_the_rule_names(engine: Engine, cast, working):
    sweep_on(engine, "2026-06-23")
    sweep_on(engine, "2026-07-01")
    sweep_on(engine, "2026-07-16")
    notices = engine.outbox(limit=100)
    by_rule = {}
    for n in notices:
        by_rule.setdefault(n["rule"], []).append(n["recipient"])
    assert {"user": "li", "role": "owner"} in by_rule["reminder"]
    assert {"role": "discipline", "unit": "省局/财务处"} in by_rule["supervise"]
    assert {"role": "secretary", "unit": "省局/财务处"} in by_rule["supervise"]
    report = engine.deliver()
    assert report.delivered == len(notices) and report.failed == 0
    assert all(n["status"] == "delivered" for n in engine.outbox(limit=100))


def test_a_late_plan_is_reminded_once(engine: Engine, cast, round_):
    add(engine, cast, "P2", "phased", due="2026-09-30")
    assert fired(sweep_on(engine, "2026-03-24")) == []
    assert fired(sweep_on(engine, "2026-03-25")) == [("P2", "plan_late")]
    assert fired(sweep_on(engine, "2026-03-26")) == []
    assert engine.issue("P2", cast.office).light == "yellow"  # behind its plan


def test_a_dry_run_shows_what_would_happen_and_changes_nothing(engine: Engine, cast, working):
    before = engine.issue("P1", cast.office)
    r = engine.sweep("2026-07-16", dry_run=True)
    assert "caution" in {f["rule"] for f in r.fired} and "supervise" not in {f["rule"] for f in r.fired}
    after = engine.issue("P1", cast.office)
    assert (after.state, after.version, after.light) == (before.state, before.version, before.light)
    assert engine.outbox() == []
    assert ("P1", "caution") in fired(sweep_on(engine, "2026-07-16"))  # and the real run still does it


def test_the_sweep_reads_only_issues_whose_time_has_come(engine: Engine, cast, working):
    for i in range(20):
        add(engine, cast, f"Q{i}", "phased", due="2026-12-31")
    r = sweep_on(engine, "2026-03-13")
    assert r.checked == 0  # nobody's time has come: not one issue read


class _Receiver(BaseHTTPRequestHandler):
    fail_first = 2
    seen: ClassVar[list[dict]] = []
    attempts = 0  # every POST, answered or failed

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        cls.attempts += 1
        if cls.fail_first > 0:
            cls.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        ok = self.headers["webhook-signature"] == sign(
            b"s3cret-s3cret-s3", self.headers["webhook-id"], self.headers["webhook-timestamp"], body
        )
        cls.seen.append({"ok": ok, **json.loads(body)["data"]})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@contextmanager
def oa_receiver(engine: Engine, fail_first: int) -> Iterator[None]:
    """An OA system's webhook endpoint on a loopback port that fails its first requests; the
    engine's notices go to it alone."""
    _Receiver.fail_first, _Receiver.seen, _Receiver.attempts = fail_first, [], 0
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        engine.notifiers.add(WebhookNotifier(f"http://127.0.0.1:{server.server_port}/hook", "s3cret-s3cret-s3"))
        engine.channels = ["webhook"]
        yield
    finally:
        server.shutdown()


def test_a_webhook_that_fails_is_retried_with_backoff_until_delivered(engine: Engine, cast, working, clock):
    with oa_receiver(engine, fail_first=2):
        clock.set("2026-06-23 10:00")
        engine.sweep()
        n = len(engine.outbox())
        assert n >= 1
        first = engine.deliver()
        assert first.failed >= 1 and first.delivered < n
        assert engine.deliver().delivered == 0  # backoff: not yet
        clock.advance(hours=3)
        while engine.deliver().delivered:
            pass
        clock.advance(hours=3)
        engine.deliver()
        assert all(x["status"] == "delivered" for x in engine.outbox())
        assert len(_Receiver.seen) == n and all(s["ok"] for s in _Receiver.seen)


def test_notices_by_e_mail_reach_a_real_smtp_server(engine: Engine, cast, working, clock):
    import socket

    from aiosmtpd.controller import Controller

    from zhenggai.engine.notifiers import EmailNotifier

    received: list[tuple[str, list[str], str]] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.mail_from, envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        engine.notifiers.add(
            EmailNotifier(
                "127.0.0.1", port, "zhenggai@bureau.example", {"li": "li@bureau.example", "zhao": "zhao@bureau.example"}
            )
        )
        engine.channels = ["email"]
        sweep_on(engine, "2026-06-23")
        report = engine.deliver()
        assert report.delivered >= 1 and report.failed == 0
        assert any(to == ["li@bureau.example"] for _, to, _ in received)
        assert all(frm == "zhenggai@bureau.example" for frm, _, _ in received)
        assert any("P1" in body for _, _, body in received)
    finally:
        controller.stop()


class _TodoInbox(BaseHTTPRequestHandler):
    """An OA system's to-do list: applies a message only if its seq is newer than what it has."""

    todos: ClassVar[dict[str, dict]] = {}

    def do_POST(self):
        msg = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["data"]
        todo = msg["todo"]
        held = type(self).todos.get(todo["id"])
        if held is None or todo["seq"] > held["seq"]:
            type(self).todos[todo["id"]] = {**todo, "triggers": msg["triggers"], "user": msg["recipient"].get("user")}
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_oa_to_dos_follow_whoever_must_act_and_late_messages_never_win(engine: Engine, cast, round_):
    from storyhelpers import SHA

    from zhenggai.engine.notifiers import OATodoNotifier

    _TodoInbox.todos = {}
    server = HTTPServer(("127.0.0.1", 0), _TodoInbox)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        engine.notifiers.add(OATodoNotifier(f"http://127.0.0.1:{server.server_port}/todo", "s3cret-s3cret-s3"))
        engine.channels = ["log", "oa_todo"]
        add(engine, cast, "P1")
        engine.add_measure("P1", "措施", owner="li", due_date="2026-05-01", actor=cast.owner)
        engine.fire("P1", "plan", actor=cast.owner)
        engine.sign_off("P1", "unit_lead", actor=cast.lead)
        engine.fire("P1", "start", actor=cast.owner)
        engine.complete_measure("P1", 1, actor=cast.owner)
        engine.add_evidence("P1", "oa://f/1", SHA, actor=cast.owner)
        engine.fire("P1", "submit_self_check", actor=cast.owner)
        # delivered one by one; the OA side keeps, for each to-do, the message with the newest seq
        pending = engine.outbox(status="pending", limit=1000)
        assert any(n["channel"] == "oa_todo" for n in pending)
        while engine.deliver(limit=1).delivered:
            pass
        todos = _TodoInbox.todos
        assert all(n["status"] == "delivered" for n in engine.outbox(limit=1000))
        owner_todo = todos["zhenggai:P1:li"]
        assert owner_todo["action"] == "done"  # the owner has nothing more to do once self-checked
        reviewer_todo = todos["zhenggai:P1:reviewer@省局/财务处"]
        assert reviewer_todo["action"] == "open" and reviewer_todo["triggers"] == ["review", "send_back"]
        stale = {**owner_todo, "seq": 2, "action": "open"}
        _TodoInbox.todos["zhenggai:P1:li"] = owner_todo
        import urllib.request

        req = urllib.request.Request(
            f"http://127.0.0.1:{server.server_port}/todo",
            method="POST",
            data=json.dumps({"data": {"todo": stale, "triggers": [], "recipient": {"user": "li"}}}).encode(),
        )
        urllib.request.urlopen(req, timeout=5).close()
        assert _TodoInbox.todos["zhenggai:P1:li"]["action"] == "done"  # a late message did not win
    finally:
        server.shutdown()


class _SlowReceiver(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(1.0)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_slow_receiver_does_not_hold_the_database(engine: Engine, cast, working, clock):
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        engine.notifiers.add(WebhookNotifier(f"http://127.0.0.1:{server.server_port}/", "s3cret-s3cret-s3"))
        engine.channels = ["webhook"]
        sweep_on(engine, "2026-07-16")
        clock.set("2026-07-16 10:00")
        delivering = threading.Thread(target=engine.deliver)
        delivering.start()
        time.sleep(0.3)  # a notice is being sent now
        assert delivering.is_alive()  # the receiver takes a second over each notice
        engine.add_mechanism("P1", "制度", actor=cast.owner)  # an ordinary write meanwhile
        assert delivering.is_alive()  # it went through while the delivery was still waiting on the receiver
        delivering.join(60)
        engine.deliver()  # the change feed's notice of that write came after the first pass began
        assert all(n["status"] == "delivered" for n in engine.outbox(limit=100))
    finally:
        server.shutdown()


def test_to_dos_move_with_the_people_when_an_issue_is_reassigned(engine: Engine, cast, working):
    from sqlalchemy import text

    engine.channels = ["log", "oa_todo"]
    engine.assign("P1", owner="wu", actor=cast.office)
    with engine.db.engine.connect() as conn:
        payloads = [
            json.loads(p) for (p,) in conn.execute(text("SELECT payload FROM outbox WHERE channel = 'oa_todo'"))
        ]
    actions = {t["todo"]["id"]: t["todo"]["action"] for t in payloads}
    assert actions["zhenggai:P1:li"] == "done" and actions["zhenggai:P1:wu"] == "open"


def test_a_catch_up_sweep_cautions_first_and_supervises_only_after_the_last_deadline(engine: Engine, cast, working):
    r = sweep_on(engine, "2026-09-01")  # long overdue, never swept before
    [caution] = [f for f in r.fired if f["rule"] != "idle"]
    assert caution["rule"] == "caution" and caution["new_deadline"] == "2026-09-15"
    assert fired(sweep_on(engine, "2026-09-15")) == []
    # supervised the day after; and as it is by then over thirty working days overdue, raised a level
    assert fired(sweep_on(engine, "2026-09-16")) == [("P1", "supervise"), ("P1", "accountability")]


def test_lifted_supervision_is_not_imposed_again_and_the_ladder_does_not_restart(engine: Engine, cast, working):
    sweep_on(engine, "2026-07-01")
    sweep_on(engine, "2026-07-16")
    assert engine.issue("P1", cast.office).state == "supervised"
    engine.fire("P1", "resume", actor=cast.discipline, comment="已落实整改条件，解除督办")
    assert fired(sweep_on(engine, "2026-07-17")) == []  # still overdue, but each rule fires once per episode


def test_a_rest_day_deadline_warns_on_the_right_working_day():
    from zhenggai.engine.definition import builtin
    from zhenggai.engine.escalation import EscalationFacts, Evaluator

    policy = Evaluator(builtin())
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    sh = ZoneInfo("Asia/Shanghai")
    f = EscalationFacts(
        "in_progress",
        "phased",
        "normal",
        datetime(2026, 3, 10, 9, tzinfo=sh),
        datetime(2026, 5, 19, 9, tzinfo=sh),
        date(2026, 5, 31),
        "Asia/Shanghai",
        frozenset({"idle"}),
    )
    check = policy.next_check(f, datetime(2026, 5, 20, 10, tzinfo=sh))
    first_yellow = next(d for d in range(20, 32) if policy.light(f, datetime(2026, 5, d, 10, tzinfo=sh)) == "yellow")
    assert check == datetime(2026, 5, first_yellow, tzinfo=sh)  # due on a Sunday: not late


def test_one_failing_issue_does_not_stop_the_sweep(engine: Engine, cast, working, monkeypatch):
    add(engine, cast, "P2", "phased", due="2026-09-30")
    from zhenggai.engine import sweep

    original = sweep.sweep_issue

    def flaky(core, repo, row, now, report):
        if row.code == "P1":
            raise RuntimeError("boom")
        return original(core, repo, row, now, report)

    monkeypatch.setattr(sweep, "sweep_issue", flaky)
    r = sweep_on(engine, "2026-07-01")  # both are due: P1 overdue, P2 never planned
    assert [f["issue"] for f in r.failed] == ["P1"] and ("P2", "plan_late") in fired(r)
    assert engine.verify("P1", cast.office).ok


def test_a_rule_rolled_back_with_its_issue_is_not_reported_as_fired(engine: Engine, cast, working, monkeypatch):
    """P1 is overdue: the caution applies, then a later step fails and the issue's work is
    rolled back — the report must not claim the caution was given."""
    from zhenggai.engine import sweep

    original = sweep.apply_rule
    calls: list[str] = []

    def fails_second(core, repo, d, row, due, now, report):
        calls.append(due.rule.name)
        if len(calls) == 2:
            raise RuntimeError("the second rule fails")
        return original(core, repo, d, row, due, now, report)

    monkeypatch.setattr(sweep, "apply_rule", fails_second)
    r = sweep_on(engine, "2026-09-01")
    assert len(calls) >= 2, calls  # two rules were due, so the failure came after one applied
    assert [f["issue"] for f in r.failed] == ["P1"]
    assert not [f for f in r.fired if f["issue"] == "P1"]
    hist = engine.history("P1", cast.office)
    assert not [e for e in hist if e["kind"].startswith("escalation") or e["trigger"] == "escalate"]


def test_a_notice_that_never_gets_through_is_dead_after_eight_attempts_and_retry_queues_it_again(
    engine: Engine, cast, working, clock
):
    with oa_receiver(engine, fail_first=10_000):  # the OA system is down for good
        clock.set("2026-06-23 10:00")
        engine.sweep()
        n = len(engine.outbox())
        assert n >= 1
        for attempt in range(1, 9):
            engine.deliver()
            statuses = {x["status"] for x in engine.outbox()}
            assert statuses == ({"dead"} if attempt == 8 else {"pending"}), (attempt, statuses)
            clock.advance(hours=3)  # past the longest backoff (two hours)
        assert _Receiver.attempts == 8 * n and not _Receiver.seen  # each notice tried eight times, no more
        engine.deliver()
        assert _Receiver.attempts == 8 * n  # dead notices are left alone
        _Receiver.fail_first = 0
        assert engine.retry_dead() == n
        assert engine.deliver().delivered == n
        assert {x["status"] for x in engine.outbox()} == {"delivered"}


def test_a_reopened_problem_starts_a_new_episode_and_is_cautioned_again(engine: Engine, cast, round_, clock):
    from storyhelpers import SHA

    clock.set("2026-03-12")
    started(engine, cast, "P1", "immediate", due="2026-05-29")
    assert ("P1", "caution") in fired(sweep_on(engine, "2026-06-01"))  # overdue: the first episode's caution
    clock.set("2026-06-02")
    engine.complete_measure("P1", 1, actor=cast.owner)
    engine.add_evidence("P1", "oa://files/1", SHA, actor=cast.owner)
    engine.fire("P1", "submit_self_check", actor=cast.owner)
    engine.fire("P1", "review", actor=cast.reviewer)
    engine.sign_off("P1", "inspection_office", actor=cast.office)
    engine.fire("P1", "close", actor=cast.office)
    engine.fire("P1", "reopen", actor=cast.office, comment="回头看：问题反弹")
    assert engine.issue("P1", cast.office).recurrence_count == 1
    again = fired(sweep_on(engine, "2026-06-08"))
    assert ("P1", "caution") in again  # still overdue, and a new episode: cautioned once more
    assert ("P1", "caution") not in fired(sweep_on(engine, "2026-06-09"))  # but once per episode


def test_a_new_problem_opens_to_dos_for_the_people_who_must_plan_it(engine: Engine, cast, round_, tmp_path):
    from sqlalchemy import text

    engine.channels = ["log", "oa_todo"]
    src = tmp_path / "list.csv"
    src.write_text(
        "序号,问题,问题类别,整改措施,责任领导,责任部门,责任人,整改时限\n"
        "1,问题一,限期整改,措施,zhao,财务处,li,2026-09-30\n"
        "2,问题二,限期整改,措施,qian,稽查局,sun,2026-08-31\n",
        encoding="utf-8",
    )
    engine.import_issues(round_, src, actor=cast.office)
    with engine.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT recipient, payload FROM outbox WHERE channel = 'oa_todo'")).all()
    todos = {}
    for r, p in rows:
        who = json.loads(r)
        todos[(who.get("user") or f"{who['role']}@{who['unit']}", json.loads(p)["issue"])] = json.loads(p)
    assert set(todos) == {
        ("li", "R1-1"),
        ("zhao", "R1-1"),
        ("discipline@省局/财务处", "R1-1"),  # the body that may put it under supervision
        ("sun", "R1-2"),
        ("qian", "R1-2"),
        ("discipline@省局/稽查局", "R1-2"),
    }
    first = todos[("li", "R1-1")]
    assert first["todo"]["action"] == "open" and first["triggers"] == ["plan"]
    assert (first["title"], first["unit"], first["due_date"]) == ("问题一", "省局/财务处", "2026-09-30")
