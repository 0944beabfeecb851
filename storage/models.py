"""SQLAlchemy 2.0 typed tables.

Times are stored as naive UTC (``UTCDateTime`` hands out aware datetimes) so SQLite and
PostgreSQL store the same thing; dates (deadlines, periods) are calendar dates in the round's
time zone.  The event log is append-only and hash-chained per issue: ``issues.last_hash`` and
``issues.seq`` carry the head of the chain so appending needs no extra read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, naive UTC stored, aware UTC out."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Workflow(Base):
    """A deployed workflow definition version; the YAML source is kept verbatim."""

    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str] = mapped_column(String(128))
    deprecated: Mapped[bool] = mapped_column(Boolean, default=False)


class Round(Base):
    """An inspection, audit or special check (巡视轮次) and its concentrated period."""

    __tablename__ = "rounds"
    __table_args__ = (Index("uq_rounds_request_id", "request_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(32))
    org: Mapped[str] = mapped_column(String(500))
    feedback_date: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    tz: Mapped[str] = mapped_column(String(64))
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(128))
    # the request that opened it, so that a retry of that request finds it instead of a refusal
    request_id: Mapped[str | None] = mapped_column(String(128))


class Issue(Base):
    """One problem on the list; ``version`` makes every write optimistic."""

    __tablename__ = "issues"
    __table_args__ = (
        # The sweep's one way in: issues whose next escalation check is due.  One index that
        # every write keeps current, instead of one per condition (due date, time in state,
        # idle time), keeps both the sweep and each transaction cheap.
        Index("ix_issues_next_check", "next_check_at"),
        Index("ix_issues_round", "round_id"),
        Index("ix_issues_unit", "unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id"))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(500))
    # where the problem was found (问题来源: one of the workflow's sources), and whether it is
    # exempt from public disclosure (不予公开: state secrets, cases under investigation)
    source: Mapped[str] = mapped_column(String(32), default="", server_default="")
    confidential: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    owner: Mapped[str | None] = mapped_column(String(128))
    lead: Mapped[str | None] = mapped_column(String(128))
    due_date: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(64))
    state_seq: Mapped[int] = mapped_column(Integer)
    state_entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state_entered_by: Mapped[str | None] = mapped_column(String(128))
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    light: Mapped[str | None] = mapped_column(String(64))  # traffic light as of the last write or sweep
    # escalation rules fired this episode, and the last deadline a caution (告诫) set
    stage_fired: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    final_deadline: Mapped[date | None] = mapped_column(Date)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    recurrence_count: Mapped[int] = mapped_column(Integer, default=0)
    seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Measure(Base):
    """A rectification measure (整改措施) with its owner, deadline and quantified target."""

    __tablename__ = "measures"
    __table_args__ = (UniqueConstraint("issue_id", "no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"))
    no: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(128))
    due_date: Mapped[date | None] = mapped_column(Date)
    target: Mapped[str | None] = mapped_column(String(500))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(128))


class Evidence(Base):
    """Supporting material (佐证材料): the OA system keeps the file, we keep its URI and hash."""

    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_issue", "issue_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"))
    measure_no: Mapped[int | None] = mapped_column(Integer)
    uri: Mapped[str] = mapped_column(String(2000))
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(1000), default="")
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Signoff(Base):
    """A sign-off by a role at a stage: ``stage_seq`` is the event that entered that state."""

    __tablename__ = "signoffs"
    __table_args__ = (Index("ix_signoffs_issue", "issue_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"))
    role: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(64))
    stage_seq: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(2000), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Mechanism(Base):
    """A long-term mechanism (长效机制): a rule or institution adopted because of the issue."""

    __tablename__ = "mechanisms"
    __table_args__ = (Index("ix_mechanisms_issue", "issue_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"))
    title: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str] = mapped_column(String(200), default="")
    adopted_on: Mapped[date | None] = mapped_column(Date)
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeadlineChange(Base):
    """A deadline change (延期申请): asked by the owner with a reason and a new date, approved or
    refused by the role the workflow's ``decide_extension`` names; ``no`` counts within the issue."""

    __tablename__ = "deadline_changes"
    __table_args__ = (UniqueConstraint("issue_id", "no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"))
    no: Mapped[int] = mapped_column(Integer)
    from_due_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    from_category: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32))  # the same as from_category unless recategorised
    measure_dates: Mapped[str] = mapped_column(Text, default="{}")  # JSON: measure no -> its new due date
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # pending, approved, refused
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str] = mapped_column(Text, default="")  # the decider's comment


class Event(Base):
    """One action on one issue; append-only, ``hash`` chains it to the one before."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("issue_id", "seq"),
        # partial: most events carry no request id and then cost no index write
        Index(
            "uq_events_request_id",
            "request_id",
            unique=True,
            sqlite_where=text("request_id IS NOT NULL"),
            postgresql_where=text("request_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str | None] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(64))
    to_state: Mapped[str | None] = mapped_column(String(64))
    actor_id: Mapped[str] = mapped_column(String(128))
    role: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[str] = mapped_column(Text, default="{}")
    request_id: Mapped[str | None] = mapped_column(String(128))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))  # which chain key made the hash (None: plain sha256)


class Escalation(Base):
    """Which escalation rule fired for which issue at which stage, and when: the record that
    makes every rule apply at most once per stage, whichever node's sweep ran it."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("issue_id", "rule", "stage_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"))
    rule: Mapped[str] = mapped_column(String(64))
    stage_seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    event_seq: Mapped[int] = mapped_column(Integer)


class Outbox(Base):
    """Notifications, written in the transaction of the event that caused them and delivered
    afterwards with retries, so none is lost when a process dies in between."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        UniqueConstraint("dedupe_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id"))
    event_seq: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(Text)  # JSON: {"user": id} or {"role": r, "unit": path}
    payload: Mapped[str] = mapped_column(Text)  # JSON
    dedupe_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiClient(Base):
    """An OA system allowed to call the HTTP API, and the most it may assert for its users.

    No secret is stored: a client's secret is derived from the server's key
    (``ZHENGGAI_API_KEY``), its name and its ``generation``, so a copy of the database
    signs nothing; revoking sets ``revoked_at``, rotating raises the generation."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    roles: Mapped[str] = mapped_column(Text)  # JSON list: roles its users may hold
    scopes: Mapped[str] = mapped_column(Text)  # JSON list: org paths its users may act in
    generation: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(128))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: HMAC with the server key over the grant (name, roles, scopes, generation): a row written
    #: or altered behind the API (a crafted backup, a database writer) does not verify
    grant_mac: Mapped[str | None] = mapped_column(String(64))


class ApiRequest(Base):
    """A POST made with an ``Idempotency-Key``: claimed before it runs, its response kept, so
    a retry returns the first answer and changes nothing more."""

    __tablename__ = "api_requests"
    __table_args__ = (UniqueConstraint("client", "key"), Index("ix_api_requests_created", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)  # None while the first attempt runs
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: what the engine records the request's write under: the same for a retry that takes the
    #: claim over, another for a new claim of a key once forgotten
    request_id: Mapped[str | None] = mapped_column(String(128))


class ApiNonce(Base):
    """Signatures seen inside the freshness window: the same signed request twice is a replay.
    ``seen_at`` holds when the request was signed (its timestamp), by which it expires."""

    __tablename__ = "api_nonces"
    __table_args__ = (Index("ix_api_nonces_seen", "seen_at"),)

    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UiSession(Base):
    """A console session started from a login ticket: the cookie holds a random token, this
    row its SHA-256, the actor the ticket named, the form token (CSRF) and when it ends.  A
    session belongs to a client's generation: revoking or rotating the client ends it."""

    __tablename__ = "ui_sessions"
    __table_args__ = (Index("ix_ui_sessions_expires", "expires_at"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    generation: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(Text)  # JSON {"id", "roles", "scope"}
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# the tables, typed as tables (an ORM class's __table__ is typed as any FromClause)
workflows: Table = Workflow.__table__  # type: ignore[assignment]
rounds: Table = Round.__table__  # type: ignore[assignment]
issues: Table = Issue.__table__  # type: ignore[assignment]
measures: Table = Measure.__table__  # type: ignore[assignment]
evidence: Table = Evidence.__table__  # type: ignore[assignment]
signoffs: Table = Signoff.__table__  # type: ignore[assignment]
mechanisms: Table = Mechanism.__table__  # type: ignore[assignment]
deadline_changes: Table = DeadlineChange.__table__  # type: ignore[assignment]
events: Table = Event.__table__  # type: ignore[assignment]
escalations: Table = Escalation.__table__  # type: ignore[assignment]
outbox: Table = Outbox.__table__  # type: ignore[assignment]
api_clients: Table = ApiClient.__table__  # type: ignore[assignment]
api_requests: Table = ApiRequest.__table__  # type: ignore[assignment]
api_nonces: Table = ApiNonce.__table__  # type: ignore[assignment]
ui_sessions: Table = UiSession.__table__  # type: ignore[assignment]
