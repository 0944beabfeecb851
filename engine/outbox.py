"""Notices: built in the transaction of the event that caused them, delivered afterwards.

Three kinds of notice go into the outbox, each row made by :func:`notice_row`:

- the webhook's change feed — every event on an issue (:func:`feed_notice`);
- the OA to-dos — done for whoever had to act and no longer does, open for whoever must act
  now (:func:`todo_notices`);
- the escalation rules' reminders, cautions and supervision notices (:func:`rule_notices`),
  one per person or role to notify and channel.

:func:`deliver` sends what is due through each channel's notifier with no transaction open,
and records each outcome; a failure is retried with backoff until it is dead.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, Protocol

from ..i18n import Text
from ..storage.repository import Repository
from ..storage.rows import IssueHead, OutboxRow
from .core import Core
from .definition import EscalationRule, WorkflowDefinition
from .errors import ZhenggaiError
from .labels import ACTION_LABELS
from .notifiers import DeliveryFailed, Notice
from .results import DeliveryReport, iso

log = logging.getLogger("zhenggai.outbox")

TODO_CHANNEL = "oa_todo"
FEED_CHANNEL = "webhook"  # besides escalation notices, the webhook carries every event


def todo_channels(core: Core) -> list[str]:
    """The channels that keep to-dos: ``oa_todo``, and each whose notifier says it does
    (:attr:`~.notifiers.Notifier.todos`: DingTalk's to-do, 泛微's unified to-do …)."""
    out = []
    for channel in core.channels:
        notifier = core.notifiers.get(channel)
        if channel == TODO_CHANNEL or (notifier is not None and notifier.todos):
            out.append(channel)
    return out


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


class Subject(NamedTuple):
    """The issue a notice is about, as notices name it."""

    id: int
    code: str
    title: str
    unit: str
    due_date: date | None
    owner: str | None
    lead: str | None


def subject_of(row: IssueHead) -> Subject:
    return Subject(row.id, row.code, row.title, row.unit, row.due_date, row.owner, row.lead)


class _People(Protocol):
    @property
    def owner(self) -> str | None: ...

    @property
    def lead(self) -> str | None: ...

    @property
    def unit(self) -> str: ...


def recipient(d: WorkflowDefinition, issue: _People, who: str) -> dict[str, Any]:
    """``user:ID`` is that person; a role with a holder is the person the issue names for it
    (its owner, its lead); any other role is that role within the issue's unit."""
    if who.startswith("user:"):
        return {"user": who[5:]}
    holder = d.roles[who].holder if who in d.roles else None
    if holder:
        return {"user": getattr(issue, holder), "role": who}
    return {"role": who, "unit": issue.unit}


def notice_row(
    core: Core,
    issue_id: int,
    seq: int,
    channel: str,
    key: str,
    recipient_json: str,
    payload_json: str,
    now: datetime,
) -> dict[str, Any]:
    """One outbox row, deliverable at once (even for a sweep run ``--as-of`` a later day)."""
    return {
        "issue_id": issue_id,
        "event_seq": seq,
        "channel": channel,
        "dedupe_key": key[:200],
        "recipient": recipient_json,
        "payload": payload_json,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": min(now, core.clock.now()),
        "created_at": now,
    }


_FEED_RECIPIENT = json.dumps({"feed": "events"})


def feed_notice(
    core: Core, issue_id: int, code: str, ev: Mapping[str, Any], state: str, now: datetime
) -> dict[str, Any]:
    """Every event on an issue, as the webhook's change feed: an OA system mirrors each
    change from it without polling (``seq`` orders them; a late duplicate is recognisable)."""
    payload = {
        "issue": code,
        "seq": ev["seq"],
        "event": ev["kind"],
        "trigger": ev.get("trigger"),
        "from": ev.get("from_state"),
        "to": ev.get("to_state"),
        "state": state,
        "actor": ev["actor_id"],
        "at": iso(ev["at"]),
        "hash": ev["hash"],
    }
    key = f"{code}:{ev['seq']}:feed"
    return notice_row(core, issue_id, ev["seq"], FEED_CHANNEL, key, _FEED_RECIPIENT, _ENCODE(payload), now)


def todo_notices(
    core: Core,
    d: WorkflowDefinition,
    issue: Subject,
    source: str,
    dest: str,
    seq: int,
    now: datetime,
    after: Subject | None = None,
) -> list[dict[str, Any]]:
    """To-dos for each to-do channel (:func:`todo_channels`): done for whoever had to act
    before and no longer does, open for whoever must act now (the roles of the triggers the new
    state offers).  ``after`` is the issue after the event, when its people changed (a
    reassignment).  Callers ask only when there is a to-do channel; asked without one, the
    rows are ``oa_todo``'s."""
    channels = todo_channels(core) or [TODO_CHANNEL]

    def who_acts(state: str, people: Subject) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for t in d.transitions_from(state):
            for role in sorted(t.roles - {"system"}):
                rcp = recipient(d, people, role)
                key = rcp.get("user") or f"{role}@{people.unit}"
                entry = out.setdefault(key, {"recipient": rcp, "triggers": []})
                entry["triggers"].append(t.trigger)
        return out

    before = who_acts(source, issue)
    now_acting = who_acts(dest, after or issue) if not d.states[dest].final else {}
    label = d.label(dest).to_dict()
    rows = []
    for key, action, entry in [
        *((k, "done", e) for k, e in before.items() if k not in now_acting),
        *((k, "open", e) for k, e in now_acting.items()),
    ]:
        payload = {
            "todo": {"id": f"zhenggai:{issue.code}:{key}", "action": action, "seq": seq, "ts": iso(now)},
            "issue": issue.code,
            "title": issue.title,
            "unit": issue.unit,
            "state": dest,
            "state_label": label,
            "final": d.states[dest].final,  # the issue is closed: 泛微 marks the to-do 办结
            "due_date": iso(issue.due_date),
            "triggers": entry["triggers"] if action == "open" else [],
        }
        for channel in channels:
            suffix = "" if channel == TODO_CHANNEL else f":{channel}"
            rows.append(
                notice_row(
                    core,
                    issue.id,
                    seq,
                    channel,
                    f"{issue.code}:{seq}:todo:{key}{suffix}",
                    _ENCODE(entry["recipient"]),
                    _ENCODE(payload),
                    now,
                )
            )
    return rows


#: the transition an ``escalate`` rule of the sweep fires (supervised handling, 挂牌督办)
ESCALATE_TRIGGER = "escalate"


def escalation_by_hand(
    core: Core, d: WorkflowDefinition, row: IssueHead, seq: int, now: datetime
) -> list[dict[str, Any]]:
    """The notices of the sweep's ``escalate`` rule, for the same step taken by hand (the
    discipline body putting an item under supervision itself): by hand or by the sweep, the
    same people hear of it.  The rule for the issue's state is preferred, else the first that
    applies to its category and severity."""
    rules = [
        r
        for r in (d.escalation.rules if d.escalation else ())
        if r.action == "escalate" and r.applies_to(row.category, row.severity)
    ]
    rule = next((r for r in rules if row.state in r.states), rules[0] if rules else None)
    if rule is None:
        return []
    data = {"rule": rule.name, "action": rule.action, "by_hand": True}
    return rule_notices(core, d, subject_of(row), row.state, rule, data, seq, now)


def rule_notices(
    core: Core,
    d: WorkflowDefinition,
    issue: Subject,
    state: str,
    rule: EscalationRule,
    data: Mapping[str, Any],
    seq: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """What an escalation rule says to each one it notifies, on every channel but the OA
    to-dos (which follow who must act, not the rules)."""
    todo = todo_channels(core)
    channels = [c for c in core.channels if c not in todo]
    if not rule.notify or not channels:
        return []
    label = d.label(state)
    action = ACTION_LABELS[rule.action]
    deadline = data.get("new_deadline")
    subject = f"【{action.zh}】{issue.code} {issue.title}"
    text = Text(
        f"问题 {issue.code}「{issue.title}」（{issue.unit}，整改时限 {issue.due_date or '未定'}，当前{label.zh}）"
        f"触发规则 {rule.name}：{action.zh}。" + (f"最后期限：{deadline}。" if deadline else ""),
        f"Issue {issue.code} ({issue.unit}, due {issue.due_date or 'not set'}, now {label.en}) triggered rule "
        f"{rule.name}: {action.en}." + (f" Final deadline: {deadline}." if deadline else ""),
    )
    common = {
        "issue": issue.code,
        "title": issue.title,
        "unit": issue.unit,
        "state": state,
        "due_date": iso(issue.due_date),
        "at": iso(now),
        "subject": subject,
        "text": text.render("zh"),
        "message": text.to_dict(),
    }
    out = []
    for role in rule.notify:
        rcp = recipient(d, issue, role)
        key = rcp.get("user") or f"{role}@{issue.unit}"
        rcp_json, payload_json = _ENCODE(rcp), _ENCODE({**common, "to": key, **data})
        for channel in channels:
            out.append(
                notice_row(
                    core, issue.id, seq, channel, f"{issue.code}:{seq}:{role}:{channel}", rcp_json, payload_json, now
                )
            )
    return out


# --- delivery -------------------------------------------------------------------------------


class _Lease:
    """Keeps the claim on notices alive while they are being sent: every third of the lease, the
    lease of each claimed notice whose outcome is not yet recorded is moved on again, in a short
    transaction of its own.  A receiver slower than the lease — one that answers in pieces, past
    every timeout — therefore never lets another deliverer send the same notice; only a
    deliverer that dies (and stops renewing) leaves its notices to be sent again."""

    def __init__(self, core: Core, lease: timedelta, rows: list[OutboxRow]) -> None:
        self.core = core
        self.lease = lease
        self.pending = {row.id: row.attempts for row in rows}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._renew, name="zhenggai-outbox-lease", daemon=True)

    def __enter__(self) -> _Lease:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def done(self, outbox_id: int) -> None:
        with self.lock:
            self.pending.pop(outbox_id, None)

    def _renew(self) -> None:
        while not self.stop.wait(self.lease.total_seconds() / 3):
            with self.lock:
                claims = list(self.pending.items())
            if not claims:
                continue
            try:
                with self.core.write() as conn:
                    Repository(conn).outbox.extend_leases(claims, self.core.clock.now() + self.lease)
            except ZhenggaiError:  # the database busy for a moment: the next renewal comes soon enough
                log.warning("outbox: could not renew the lease of %d notices", len(claims))


def deliver(
    core: Core,
    *,
    limit: int = 100,
    now: datetime | None = None,
    lease: timedelta = timedelta(minutes=5),
    should_stop: Callable[[], bool] | None = None,
) -> DeliveryReport:
    """Send due notices through their channel's notifier; retry failures with backoff.

    Notices are claimed in a short transaction (their next attempt moved ``lease`` ahead,
    so a concurrent deliverer skips them), each is sent with no transaction open — a slow
    receiver must not hold the database — and its outcome recorded at once.  While they are
    being sent the claim is renewed (:class:`_Lease`), so no other deliverer sends them too.  A
    process that dies in between leaves them to be sent again when the lease runs out: at
    least once.  ``should_stop()`` is asked between notices (a scheduler shutting down)."""
    now = now or core.clock.now()
    report = DeliveryReport()
    with core.write() as conn:
        repo = Repository(conn)
        claimed = repo.outbox.due(now, limit)
        for row in claimed:
            repo.outbox.update(row.id, next_attempt_at=now + lease)
    if not claimed:
        return report
    with _Lease(core, lease, claimed) as held:
        for row in claimed:
            if should_stop and should_stop():
                break  # the rest keep their lease and are sent after it runs out
            error = _send(core, row)
            held.done(row.id)
            _record(core, row, error, now, report)
    return report


def _record(core: Core, row: OutboxRow, error: Exception | None, now: datetime, report: DeliveryReport) -> None:
    attempts = row.attempts + 1
    with core.write() as conn:
        repo = Repository(conn)
        if error is None:
            repo.outbox.update(row.id, status="delivered", attempts=attempts, delivered_at=now, last_error=None)
            report.delivered += 1
        else:
            dead = attempts >= core.retry.attempts
            repo.outbox.update(
                row.id,
                attempts=attempts,
                last_error=str(error)[:2000],
                status="dead" if dead else "pending",
                next_attempt_at=now + core.retry.delay(attempts),
            )
            report.failed += 1
            report.dead += dead


def _send(core: Core, row: OutboxRow) -> Exception | None:
    notifier = core.notifiers.get(row.channel)
    notice = Notice(row.dedupe_key, row.channel, json.loads(row.recipient), json.loads(row.payload))
    try:
        if notifier is None:
            raise DeliveryFailed(f"no notifier is configured for channel {row.channel!r}")
        notifier.send(notice)
    except Exception as exc:
        return exc
    return None


def listing(core: Core, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Recent notices, newest first (``status`` pending, delivered or dead)."""
    with core.read() as conn:
        out = []
        for r in Repository(conn).outbox.recent(status, limit):
            payload = json.loads(r.payload)
            out.append(
                {
                    "id": r.id,
                    "channel": r.channel,
                    "recipient": json.loads(r.recipient),
                    "status": r.status,
                    "attempts": r.attempts,
                    "next_attempt_at": iso(r.next_attempt_at),
                    "last_error": r.last_error,
                    "created_at": iso(r.created_at),
                    "delivered_at": iso(r.delivered_at),
                    "issue": payload.get("issue"),
                    "rule": payload.get("rule"),
                    "payload": payload,
                }
            )
        return out


def recent_escalations(core: Core, limit: int = 50) -> list[dict[str, Any]]:
    """What the latest sweeps applied, newest first."""
    with core.read() as conn:
        return [
            {"issue": code, "rule": rule, "action": action, "at": iso(at)}
            for code, rule, action, at in Repository(conn).outbox.recent_escalations(limit)
        ]


def retry_dead(core: Core, ids: list[int] | None = None) -> int:
    """Put dead notices back in the queue (all of them, or these ids)."""
    with core.write() as conn:
        return Repository(conn).outbox.retry_dead(ids, core.clock.now())
