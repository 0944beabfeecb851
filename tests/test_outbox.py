"""The outbox on its own: what each kind of notice says and to whom, and delivery — claimed
under a lease, sent with no transaction open, retried with backoff until dead."""

from __future__ import annotations

import json
from datetime import timedelta

from storyhelpers import add

from zhenggai import Engine
from zhenggai.engine import outbox
from zhenggai.engine.notifiers import DeliveryFailed, Notice, Notifier, RetryPolicy
from zhenggai.storage.repository import Repository


class Recorder(Notifier):
    """A channel that keeps what it is given (and fails while ``failing``)."""

    name = "recorder"

    def __init__(self) -> None:
        self.sent: list[Notice] = []
        self.failing = False

    def send(self, notice: Notice) -> None:
        if self.failing:
            raise DeliveryFailed("the receiver is down")
        self.sent.append(notice)


def _subject(engine: Engine, code: str) -> tuple[object, outbox.Subject]:
    with engine.db.read() as conn:
        repo = Repository(conn)
        head = repo.issues.head(code, lock=False)
        return engine.definitions.get(repo, head.workflow_id), outbox.subject_of(head)


def test_a_rules_notice_goes_to_each_one_it_names_on_every_channel_but_the_to_dos(engine: Engine, cast, round_):
    add(engine, cast, "P1", "phased")
    engine.channels = ["log", "webhook", "oa_todo"]
    d, issue = _subject(engine, "P1")
    rule = next(r for r in d.escalation.rules if r.name == "supervise")  # discipline and the secretary
    rows = outbox.rule_notices(engine, d, issue, "in_progress", rule, {"rule": "supervise"}, 5, engine.clock.now())
    assert sorted((json.loads(r["recipient"]).get("role"), r["channel"]) for r in rows) == sorted(
        (role, ch) for role in rule.notify for ch in ("log", "webhook")
    )
    payloads = {r["dedupe_key"]: json.loads(r["payload"]) for r in rows}
    assert all(
        p["issue"] == "P1" and p["rule"] == "supervise" and "挂牌督办" in p["subject"] for p in payloads.values()
    )
    assert {json.loads(r["recipient"])["unit"] for r in rows} == {"省局/财务处"}  # those roles within the issue's unit
    assert len(payloads) == len(rows)  # one key each: a retried sweep cannot queue a notice twice


def test_a_to_do_closes_for_whoever_acted_and_opens_for_whoever_must_act_next(engine: Engine, cast, round_):
    add(engine, cast, "P1")
    d, issue = _subject(engine, "P1")
    rows = outbox.todo_notices(engine, d, issue, "identified", "planned", 3, engine.clock.now())
    todos = {(json.loads(r["payload"])["todo"]["action"], json.loads(r["recipient"]).get("user")) for r in rows}
    # planning was the owner's (or the lead's); starting is the owner's: the owner's to-do stays open
    assert ("open", "li") in todos and ("done", "zhao") in todos
    assert all(r["channel"] == "oa_todo" and r["event_seq"] == 3 for r in rows)
    closed = outbox.todo_notices(engine, d, issue, "reviewed", "closed", 9, engine.clock.now())
    assert {json.loads(r["payload"])["todo"]["action"] for r in closed} == {"done"}  # nobody acts on a closed one


def test_delivery_sends_each_notice_once_and_a_second_deliverer_finds_them_leased(engine: Engine, cast, round_):
    recorder = Recorder()
    engine.notifiers.add(recorder)
    engine.channels = ["recorder"]
    now = engine.clock.now()
    with engine.db.write() as conn:
        Repository(conn).outbox.enqueue(
            [
                outbox.notice_row(engine, None, None, "recorder", f"k{i}", '{"user": "li"}', f'{{"n": {i}}}', now)
                for i in range(3)
            ]
        )
    with engine.db.write() as conn:  # another node claims them first and dies before sending
        claimed = Repository(conn).outbox.due(now, 10)
        for row in claimed:
            Repository(conn).outbox.update(row.id, next_attempt_at=now + timedelta(minutes=5))
    assert engine.deliver(now=now).delivered == 0  # leased: not sent twice while the lease runs
    later = now + timedelta(minutes=6)
    report = engine.deliver(now=later)
    assert report.delivered == 3 and sorted(n.payload["n"] for n in recorder.sent) == [0, 1, 2]
    assert engine.deliver(now=later + timedelta(hours=1)).delivered == 0  # delivered once, and done


def test_a_failing_channel_backs_off_goes_dead_and_is_queued_again_by_retry(engine: Engine, cast, round_):
    recorder = Recorder()
    recorder.failing = True
    engine.notifiers.add(recorder)
    engine.retry = RetryPolicy(attempts=3, first=timedelta(seconds=30), cap=timedelta(minutes=2))
    now = engine.clock.now()
    with engine.db.write() as conn:
        Repository(conn).outbox.enqueue([outbox.notice_row(engine, None, None, "recorder", "k", "{}", "{}", now)])
    assert engine.deliver(now=now).failed == 1
    assert engine.deliver(now=now + timedelta(seconds=10)).failed == 0  # backing off: 30 s first
    assert engine.deliver(now=now + timedelta(seconds=31)).failed == 1
    third = engine.deliver(now=now + timedelta(minutes=5))
    assert (third.failed, third.dead) == (1, 1)
    [dead] = engine.outbox(status="dead")
    assert dead["attempts"] == 3 and "the receiver is down" in dead["last_error"]
    recorder.failing = False
    assert engine.retry_dead() == 1 and engine.deliver().delivered == 1 and len(recorder.sent) == 1


def test_a_channel_with_no_notifier_is_a_failure_kept_for_later(engine: Engine, cast, round_):
    now = engine.clock.now()
    with engine.db.write() as conn:
        Repository(conn).outbox.enqueue([outbox.notice_row(engine, None, None, "nowhere", "k", "{}", "{}", now)])
    assert engine.deliver(now=now).failed == 1
    [pending] = engine.outbox(status="pending")
    assert "no notifier is configured for channel 'nowhere'" in pending["last_error"]


def test_two_deliverers_and_a_receiver_slower_than_the_lease_send_each_notice_once(db_url: str):
    import threading
    import time

    sent: list[str] = []
    lock = threading.Lock()

    class Slow(Notifier):
        name = "slow"

        def send(self, notice: Notice) -> None:
            time.sleep(3.5)  # slower than the lease: a platform that answers in pieces
            with lock:
                sent.append(notice.id)

    nodes = [Engine(db_url) for _ in range(2)]  # two deliverers on two nodes, real clocks
    nodes[0].init()
    for node in nodes:
        node.notifiers.add(Slow())
    now = nodes[0].clock.now()
    with nodes[0].db.write() as conn:
        Repository(conn).outbox.enqueue(
            [outbox.notice_row(nodes[0], None, None, "slow", f"n{i}", "{}", "{}", now) for i in range(3)]
        )
    stop = time.monotonic() + 40

    def deliverer(node: Engine) -> None:
        while time.monotonic() < stop and len(nodes[0].outbox(status="pending")) > 0:
            node.deliver(lease=timedelta(seconds=1.5))
            time.sleep(0.05)

    threads = [threading.Thread(target=deliverer, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(sent) == ["n0", "n1", "n2"]  # each once, though every send outlasted the lease
    assert {x["status"] for x in nodes[0].outbox()} == {"delivered"}
    for node in nodes:
        node.db.dispose()
