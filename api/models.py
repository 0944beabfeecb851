"""Request and response bodies of the HTTP API, as pydantic models: they validate what comes
in (types, lengths, enumerations: a 422 names the field) and document what goes out, so the
OpenAPI document is the contract a generated client can rely on."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$", description="letters, digits and . _ -")]


class Bilingual(BaseModel):
    zh: str
    en: str


class Reason(BaseModel):
    rule: str
    reason: Bilingual


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable machine ``code`` and the message in both languages."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    code: str
    detail: str
    message: Bilingual
    field: str | None = None
    reasons: list[Reason] | None = None


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- requests --------------------------------------------------------------------------


class RoundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    title: str = Field(min_length=1, max_length=500)
    org: str = Field(min_length=1, max_length=500)
    feedback_date: date
    source: str | None = Field(default=None, max_length=32)
    period_months: int = Field(default=3, ge=1, le=36)
    period_end: date | None = None
    workflow: str = Field(default="rectification", max_length=64)
    tz: str = Field(default="Asia/Shanghai", max_length=64)


class IssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    title: str = Field(min_length=1, max_length=500)
    category: str = Field(min_length=1, max_length=64)
    unit: str = Field(min_length=1, max_length=500)
    owner: str = Field(min_length=1, max_length=128)
    lead: str = Field(min_length=1, max_length=128)
    due_date: date | None = None
    severity: str = Field(default="normal", max_length=64)
    description: str = Field(default="", max_length=20_000)
    source: str | None = Field(default=None, max_length=32)
    confidential: bool = False
    workflow: str | None = Field(
        default=None, max_length=64, description="another workflow than the round's, e.g. audit"
    )


class MeasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=20_000)
    owner: str | None = Field(default=None, max_length=128)
    due_date: date | None = None
    target: str | None = Field(default=None, max_length=500)


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str | None = Field(default=None, max_length=20_000)


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uri: str = Field(min_length=1, max_length=2000)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    note: str = Field(default="", max_length=2000)
    measure_no: int | None = Field(default=None, ge=1, le=10_000)


class SignoffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(min_length=1, max_length=64)
    comment: str | None = Field(default=None, max_length=20_000)


class MechanismIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=500)
    reference: str = Field(default="", max_length=200)
    adopted_on: date | None = None


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    owner: str | None = Field(default=None, max_length=128)
    lead: str | None = Field(default=None, max_length=128)
    comment: str | None = Field(default=None, max_length=20_000)


class CorrectionIn(BaseModel):
    """An audited correction of how a problem was recorded (disclosure, source)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=20_000)
    confidential: bool | None = None
    source: str | None = Field(default=None, max_length=64)
class DeadlineChangeIn(BaseModel):
    """A deadline change asked for (延期申请)."""

    model_config = ConfigDict(extra="forbid")
    due_date: date
    reason: str = Field(min_length=1, max_length=20_000)
    category: str | None = Field(default=None, max_length=64)
    measure_dates: dict[int, date] = Field(default_factory=dict, max_length=1000)


class DeadlineDecisionIn(BaseModel):
    """The decision on an issue's pending deadline change."""

    model_config = ConfigDict(extra="forbid")
    approve: bool
    comment: str | None = Field(default=None, max_length=20_000)


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str | None = Field(default=None, max_length=64)
    comment: str | None = Field(default=None, max_length=20_000)


class SweepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: date | None = None
    dry_run: bool = False
    #: a past as_of writes escalations dated then: only if declared (data entry of the past)
    backdate: bool = False


# --- responses -------------------------------------------------------------------------


class Measure(BaseModel):
    no: int
    text: str
    owner: str | None
    due_date: str | None
    target: str | None
    done: bool
    done_at: str | None = None
    done_by: str | None = None


class Trigger(BaseModel):
    trigger: str
    label: Bilingual
    dest: str
    available: bool
    roles: list[str]
    requires: list[str]
    reasons: list[Reason]


class Issue(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    round: str
    workflow: str
    workflow_version: int
    title: str
    description: str
    category: str
    severity: str
    unit: str
    owner: str | None
    lead: str | None
    due_date: str | None
    state: str
    state_label: Bilingual
    category_label: Bilingual
    severity_label: Bilingual
    source: str
    source_label: Bilingual | None
    confidential: bool
    light: str | None
    light_label: Bilingual | None
    escalation_level: int
    recurrence_count: int
    version: int
    measures: list[Measure]
    evidence: list[dict[str, Any]]
    signoffs: list[dict[str, Any]]
    mechanisms: list[dict[str, Any]]
    deadline_changes: list[dict[str, Any]] = []
    extensions: int = 0
    triggers: list[Trigger]
    measures_done: int = Field(0, description="measures done (分期分批 progress)")
    measures_total: int = Field(0, description="measures in all")
    next_measure_due: str | None = Field(None, description="the earliest due date of the measures not yet done")


class Moved(BaseModel):
    """The answer to a transition made with ``Prefer: return=minimal``."""

    code: str
    trigger: str
    source: str
    dest: str
    seq: int
    version: int
    replayed: bool


class IssuePage(BaseModel):
    items: list[Issue]
    limit: int
    offset: int


class Round(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    title: str
    source: str
    org: str
    feedback_date: str
    period_end: str
    period_over: bool
    workflow: str
    workflow_version: int
    issues: int
    by_state: dict[str, int]


class Event(BaseModel):
    model_config = ConfigDict(extra="allow")
    seq: int
    kind: str
    trigger: str | None
    actor: str
    at: str
    hash: str


class History(BaseModel):
    events: list[Event]
    verification: dict[str, Any] | None = None


class Check(BaseModel):
    rule: str
    ok: bool
    reason: Bilingual


class TriggerExplanation(BaseModel):
    model_config = ConfigDict(extra="allow")
    trigger: str
    dest: str
    available: bool
    possible_here: bool
    role: str | None
    checks: list[Check]


class Explanation(BaseModel):
    model_config = ConfigDict(extra="allow")
    issue: str
    state: str
    workflow: dict[str, Any]
    round: dict[str, Any]
    triggers: list[TriggerExplanation]
    notes: list[Bilingual]


class Workflow(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    version: int
    digest: str
    deprecated: bool


class Health(BaseModel):
    status: Literal["ok"]
