"""What engine calls answer: plain dataclasses that know their JSON form."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from ..i18n import Text


@dataclass(frozen=True)
class TriggerOption:
    trigger: str
    label: Text
    dest: str
    available: bool
    roles: list[str]
    requires: list[str]
    reasons: list[tuple[str, Text]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "label": self.label.to_dict(),
            "dest": self.dest,
            "available": self.available,
            "roles": self.roles,
            "requires": self.requires,
            "reasons": [{"rule": r, "reason": t.to_dict()} for r, t in self.reasons],
        }


@dataclass(frozen=True)
class IssueView:
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
    due_date: date | None
    state: str
    state_label: Text
    category_label: Text
    severity_label: Text
    state_entered_at: datetime
    next_check_at: datetime | None
    light: str | None
    light_label: Text | None
    escalation_level: int
    recurrence_count: int
    version: int
    source: str = ""
    source_label: Text | None = None
    confidential: bool = False
    measures: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    signoffs: list[dict[str, Any]] = field(default_factory=list)
    mechanisms: list[dict[str, Any]] = field(default_factory=list)
    #: deadline changes (延期申请) asked and decided, and how many were approved
    deadline_changes: list[dict[str, Any]] = field(default_factory=list)
    extensions: int = 0
    triggers: list[TriggerOption] = field(default_factory=list)
    #: how far its measures are (分期分批): done of all, and the earliest due of those not done
    measures_done: int = 0
    measures_total: int = 0
    next_measure_due: date | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["next_measure_due"] = iso(self.next_measure_due)
        d["state_label"] = self.state_label.to_dict()
        d["category_label"] = self.category_label.to_dict()
        d["severity_label"] = self.severity_label.to_dict()
        d["due_date"] = iso(self.due_date)
        d["state_entered_at"] = iso(self.state_entered_at)
        d["next_check_at"] = iso(self.next_check_at)
        d["light_label"] = self.light_label.to_dict() if self.light_label else None
        d["source_label"] = self.source_label.to_dict() if self.source_label else None
        d["triggers"] = [t.to_dict() for t in self.triggers]
        return jsonable(d)


@dataclass(frozen=True)
class FireResult:
    code: str
    trigger: str
    source: str
    dest: str
    seq: int
    version: int
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WorkflowInfo:
    name: str
    version: int
    digest: str
    deployed_at: datetime
    deployed_by: str
    deprecated: bool
    created: bool = False

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


def iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, (date, datetime)) else v


def jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, Text):
        return v.to_dict()
    return iso(v)


@dataclass
class ImportReport:
    dry_run: bool
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SweepReport:
    as_of: datetime
    dry_run: bool
    checked: int = 0
    batches: int = 0
    fired: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": iso(self.as_of),
            "dry_run": self.dry_run,
            "checked": self.checked,
            "batches": self.batches,
            "fired": self.fired,
            "failed": self.failed,
        }


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)
