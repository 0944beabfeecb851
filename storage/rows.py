"""The rows storage hands to the engine, declared once as named tuples.

A query's columns and its row type are kept together: each repository builds its SELECT from
the columns whose keys are a row type's fields (checked when the statement is prepared), and
hands out instances of that type — tuples, as cheap as the driver's own rows, with names and
types the engine can rely on.  Times are aware UTC datetimes, dates are dates, on both
databases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, TypeVar


class WorkflowRow(NamedTuple):
    id: int
    name: str
    version: int
    digest: str
    source: str
    deployed_at: datetime
    deployed_by: str
    deprecated: bool


class RoundRow(NamedTuple):
    id: int
    code: str
    title: str
    source: str
    org: str
    feedback_date: date
    period_end: date
    tz: str
    workflow_id: int
    created_at: datetime
    created_by: str
    request_id: str | None


class IssueRow(NamedTuple):
    """Everything about one issue, with what its round contributes (for reading)."""

    id: int
    code: str
    round_id: int
    workflow_id: int
    title: str
    description: str
    category: str
    severity: str
    unit: str
    source: str
    confidential: bool
    owner: str | None
    lead: str | None
    due_date: date | None
    state: str
    state_seq: int
    state_entered_at: datetime
    state_entered_by: str | None
    last_activity_at: datetime
    next_check_at: datetime | None
    light: str | None
    stage_fired: str
    final_deadline: date | None
    escalation_level: int
    recurrence_count: int
    seq: int
    last_hash: str
    version: int
    created_at: datetime
    round_code: str
    round_feedback_date: date
    round_period_end: date
    round_tz: str
    round_source: str


class IssueHead(NamedTuple):
    """What a write to an issue needs and no more (each column read costs on the path every
    fire takes); the evidence and mechanism counts some guards read come along, except on the
    sweep's due rows (few rules' guards read them; they are counted when one does)."""

    final_deadline: date | None
    stage_fired: str
    light: str | None
    title: str
    last_activity_at: datetime
    next_check_at: datetime | None
    id: int
    code: str
    workflow_id: int
    category: str
    severity: str
    unit: str
    owner: str | None
    lead: str | None
    due_date: date | None
    state: str
    state_seq: int
    state_entered_at: datetime
    state_entered_by: str | None
    escalation_level: int
    recurrence_count: int
    seq: int
    last_hash: str
    version: int
    round_code: str
    round_feedback_date: date
    round_period_end: date
    round_tz: str
    evidence_count: int | None  # None where the read left them out (the sweep's due rows)
    mechanism_count: int | None


class CensusRow(NamedTuple):
    """One group of the issues a migration would move."""

    state: str
    category: str
    severity: str
    source: str
    total: int
    example: str


class EventRow(NamedTuple):
    id: int
    issue_id: int
    seq: int
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    actor_id: str
    role: str | None
    at: datetime
    comment: str | None
    data: str
    request_id: str | None
    prev_hash: str
    hash: str
    key_id: str | None


class StoredEventRow(NamedTuple):
    """An event as stored, for the whole-database audit: ``at`` is the stored text (SQLite) or
    naive UTC datetime (PostgreSQL) the hash was made from."""

    id: int
    issue_id: int
    seq: int
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    actor_id: str
    role: str | None
    at: str
    comment: str | None
    data: str
    request_id: str | None
    prev_hash: str
    hash: str
    key_id: str | None


class RequestEvent(NamedTuple):
    """The event a request id produced, with its issue's code (for answering a retry)."""

    issue_code: str
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    actor_id: str
    seq: int
    data: str


class TransitionRow(NamedTuple):
    issue_id: int
    at: datetime
    from_state: str | None
    to_state: str | None


class MeasureRow(NamedTuple):
    id: int
    issue_id: int
    no: int
    text: str
    owner: str | None
    due_date: date | None
    target: str | None
    done_at: datetime | None
    done_by: str | None


class EvidenceRow(NamedTuple):
    id: int
    issue_id: int
    measure_no: int | None
    uri: str
    sha256: str
    note: str
    added_by: str
    added_at: datetime


class SignoffRow(NamedTuple):
    id: int
    issue_id: int
    role: str
    actor_id: str
    state: str
    stage_seq: int
    comment: str
    at: datetime


class MechanismRow(NamedTuple):
    id: int
    issue_id: int
    title: str
    reference: str
    adopted_on: date | None
    added_by: str
    added_at: datetime


class DeadlineChangeRow(NamedTuple):
    id: int
    issue_id: int
    no: int
    from_due_date: date | None
    due_date: date
    from_category: str
    category: str
    measure_dates: str
    reason: str
    requested_by: str
    requested_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision: str


class AuditIssueRow(NamedTuple):
    """Every stored column of an issue: what the whole-database audit compares with its history."""

    id: int
    code: str
    round_id: int
    workflow_id: int
    title: str
    description: str
    category: str
    severity: str
    unit: str
    source: str
    confidential: bool
    owner: str | None
    lead: str | None
    due_date: date | None
    state: str
    state_seq: int
    state_entered_at: datetime
    state_entered_by: str | None
    last_activity_at: datetime
    next_check_at: datetime | None
    light: str | None
    stage_fired: str
    final_deadline: date | None
    escalation_level: int
    recurrence_count: int
    seq: int
    last_hash: str
    version: int
    created_at: datetime


class IssueFactRow(NamedTuple):
    """One issue as the round's statistics count it."""

    id: int
    code: str
    category: str
    unit: str
    source: str
    confidential: bool
    state: str
    light: str | None
    due_date: date | None
    recurrence_count: int
    escalation_level: int
    created_at: datetime
    workflow_id: int


class EscalationRow(NamedTuple):
    id: int
    issue_id: int
    rule: str
    stage_seq: int
    action: str
    fired_at: datetime
    event_seq: int


class OutboxRow(NamedTuple):
    id: int
    issue_id: int | None
    event_seq: int | None
    channel: str
    recipient: str
    payload: str
    dedupe_key: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


R = TypeVar("R", bound=tuple[Any, ...])


def rows_as(kind: type[R], rows: Iterable[Sequence[Any]]) -> list[R]:
    """Rows a SQLAlchemy result gave (in the order of ``kind``'s fields) as ``kind``."""
    make = kind._make  # type: ignore[attr-defined]
    return [make(r) for r in rows]


def row_as(kind: type[R], row: Sequence[Any] | None) -> R | None:
    return None if row is None else kind._make(row)  # type: ignore[attr-defined]


def check_fields(kind: type[Any], keys: Sequence[str]) -> None:
    """A statement built for ``kind`` selects exactly its fields, in order."""
    fields = tuple(kind._fields)
    if tuple(keys) != fields:
        raise AssertionError(f"{kind.__name__} has {fields}, the statement selects {tuple(keys)}")
