"""The one write path: every write to an issue appends one hash-chained event and moves the
issue's head (seq, last hash, version) with it, in the same transaction.

Firing, edits, creation (one issue or an imported list), the sweep's escalations and a
migration all go through :func:`entry`: the event's values, its hash over the previous one,
and the head that follows.  History and state therefore never disagree, and a writer that
read an older version is refused rather than overwriting (``StaleVersion`` on the head's
update).  :func:`append` is the single-issue write most callers make; creation and migration
write many entries at once with the storage's bulk statements.

The head also carries what the escalation policy derives from the issue at each write (its
traffic light and next check): :func:`schedule` is the one place that works them out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, NamedTuple

from ..i18n import Text
from ..storage.errors import StaleVersion
from ..storage.repository import Repository
from ..storage.rows import IssueHead, IssueRow, RequestEvent
from .actors import Actor
from .core import Core
from .definition import WorkflowDefinition
from .errors import ConcurrentUpdate, InvalidInput
from .escalation import EscalationFacts, evaluator_for
from .history import GENESIS, ChainKey, event_hash
from .outbox import FEED_CHANNEL, feed_notice
from .results import iso

_ENCODE_DATA = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


class Head(NamedTuple):
    """Where an issue's chain stands: its last event and its optimistic version."""

    seq: int
    last_hash: str
    version: int


_REHEARSAL: ContextVar[bool] = ContextVar("zhenggai_rehearsal", default=False)
_BACKDATING: ContextVar[bool] = ContextVar("zhenggai_backdating", default=False)


@contextmanager
def rehearsal() -> Iterator[None]:
    """Writes that are rolled back when the block ends (a dry run): dated as asked."""
    token = _REHEARSAL.set(True)
    try:
        yield
    finally:
        _REHEARSAL.reset(token)


@contextmanager
def backdating() -> Iterator[None]:
    """Writes their caller declared dated in the past (data entry of what happened then)."""
    token = _BACKDATING.set(True)
    try:
        yield
    finally:
        _BACKDATING.reset(token)


def stamp(core: Core, at: datetime) -> datetime | None:
    """When an event dated ``at`` was really entered, if that is another moment (data entry of
    the past, declared with ``backdate``); None for a write of now.  Refuses an event dated after
    now, and a write under ``as_of`` that is not declared back-dated: one rule for every caller,
    the command line's ``--as-of`` as much as an OA system's."""
    if _REHEARSAL.get():
        return None
    real = core.wall.now()
    if at > real:
        raise InvalidInput(
            Text(
                f"不能记录晚于当前时间（{iso(real)}）的操作：未来的日期只能预演（dry run）",
                f"nothing is recorded after now ({iso(real)}): a future date is for a dry run only",
            ),
            field="as_of",
        )
    if core.as_of is None and not _BACKDATING.get():
        return None
    if not (core.backdate or _BACKDATING.get()):
        raise InvalidInput(
            Text(
                "--as-of 只用于查看和预演；补录过去发生的操作须明确声明（--backdate），并记录为补录",
                "--as-of is for reading and rehearsing; entering what happened in the past must be declared "
                "(--backdate) and is recorded as such",
            ),
            field="as_of",
        )
    return real


def entry(
    key: ChainKey | None,
    code: str,
    head: Head | None,
    kind: str,
    actor_id: str,
    role: str | None,
    at: datetime,
    *,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str | None = None,
    data: dict[str, Any] | None = None,
    request_id: str | None = None,
    entered_at: datetime | None = None,
) -> tuple[dict[str, Any], Head]:
    """The next event of ``code``'s chain (the first, when ``head`` is None) and the head it
    leaves: the event's columns but ``issue_id``, hash included.  ``entered_at`` (from
    :func:`stamp`) marks an event dated in the past on purpose, with when it was entered."""
    if entered_at is not None:
        data = {**(data or {}), "entered_at": iso(entered_at)}
    seq, prev = (1, GENESIS) if head is None else (head.seq + 1, head.last_hash)
    values: dict[str, Any] = {
        "seq": seq,
        "kind": kind,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "actor_id": actor_id,
        "role": role,
        "at": at,
        "comment": comment,
        "data": _ENCODE_DATA(data) if data else "{}",
        "request_id": request_id,
    }
    h = event_hash(code, prev, values, key)
    values["prev_hash"] = prev
    values["hash"] = h
    values["key_id"] = key.id if key else None
    return values, Head(seq, h, 1 if head is None else head.version + 1)


def head_of(row: IssueHead | IssueRow) -> Head:
    return Head(row.seq, row.last_hash, row.version)


def fired(stage_fired: str | None) -> frozenset[str]:
    """The escalation rules already fired in the issue's current episode."""
    return frozenset(x for x in (stage_fired or "").split(",") if x)


def escalation_facts(row: IssueHead | IssueRow) -> EscalationFacts:
    return EscalationFacts(
        row.state,
        row.category,
        row.severity,
        row.state_entered_at,
        row.last_activity_at,
        row.due_date,
        row.round_tz,
        fired(row.stage_fired),
        row.final_deadline,
    )


def schedule(d: WorkflowDefinition, facts: EscalationFacts, now: datetime) -> tuple[str | None, datetime | None]:
    """The traffic light and the next escalation check every write stores with the head."""
    return evaluator_for(d).schedule(facts, now)


def check_version(code: str, row: IssueHead, expected: int | None) -> None:
    """An edit made against a version the caller read (If-Match) is refused once the issue moved on."""
    if expected is not None and row.version != expected:
        raise ConcurrentUpdate(
            Text(
                f"问题 {code} 已被修改（版本 {row.version}，而非 {expected}）",
                f"issue {code} has changed (version {row.version}, not {expected})",
            ),
            version=row.version,
        )


def concurrent(code: str) -> ConcurrentUpdate:
    return ConcurrentUpdate(
        Text(f"问题 {code} 正被他人同时修改，请重试", f"issue {code} was changed concurrently; retry")
    )


def append(
    core: Core,
    repo: Repository,
    d: WorkflowDefinition,
    row: IssueHead,
    kind: str,
    actor: Actor,
    role: str | None,
    now: datetime,
    *,
    issue_values: dict[str, Any] | None = None,
    activity: bool = True,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str | None = None,
    data: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> IssueHead:
    """Append one event to ``row``'s chain and move its head, with ``issue_values`` (a new
    state, the escalation columns) written in the same statement.  ``activity=False`` for the
    scheduler's own events, which do not count as someone working on the issue (the idle
    rule).  Returns the issue's head as it now is (no need to read it back)."""
    ev, head = entry(
        core.chain_key,
        row.code,
        head_of(row),
        kind,
        actor.id,
        role,
        now,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        data=data,
        request_id=request_id,
        entered_at=stamp(core, now),
    )
    values = issue_values or {}
    active_at = now if activity else row.last_activity_at
    facts = EscalationFacts(
        values.get("state", row.state),
        row.category,
        row.severity,
        values.get("state_entered_at", row.state_entered_at),
        active_at,
        row.due_date,
        row.round_tz,
        fired(values.get("stage_fired", row.stage_fired)),
        values.get("final_deadline", row.final_deadline),
    )
    light, check_at = schedule(d, facts, now)
    moved = {
        **values,
        "seq": head.seq,
        "last_hash": head.last_hash,
        "version": head.version,
        "last_activity_at": active_at,
        "next_check_at": check_at,
        "light": light,
    }
    try:
        repo.issues.move_head(row.id, row.version, moved)
    except StaleVersion:
        raise concurrent(row.code) from None
    ev["issue_id"] = row.id
    repo.events.insert(ev)
    if FEED_CHANNEL in core.channels:
        repo.outbox.enqueue([feed_notice(core, row.id, row.code, ev, values.get("state", row.state), now)])
    return row._replace(**moved)


def request_reused(prior: RequestEvent) -> InvalidInput:
    """The refusal for a request id that already did something else (another issue, another
    step, another actor): a retry gets its first answer, a reuse gets this — naming nothing of
    the first write, which may be another unit's business."""
    return InvalidInput(
        Text("请求号已用于另一项操作；每项操作应使用新的请求号", "request id was already used for another write; use a new one for each write"),
        field="request_id",
    )
