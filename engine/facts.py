"""What guards may look at: frozen snapshots of one issue, read in the firing transaction.

Guards are pure functions of these snapshots, so they can be tested without a database and
cannot change anything.  Parts a transition's guards do not need are left as ``None`` and
never loaded: firing ``escalate`` does not read measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .actors import Actor


@dataclass(frozen=True, slots=True)
class MeasureFacts:
    no: int
    text: str
    owner: str | None
    due_date: date | None
    target: str | None
    done: bool


@dataclass(frozen=True, slots=True)
class SignoffFacts:
    role: str
    actor_id: str
    state: str
    stage_seq: int


@dataclass(frozen=True, slots=True)
class RoundFacts:
    code: str
    feedback_date: date
    period_end: date


@dataclass(frozen=True, slots=True)
class IssueFacts:
    code: str
    category: str
    severity: str
    state: str
    unit: str
    owner: str | None
    lead: str | None
    due_date: date | None
    state_seq: int
    state_entered_by: str | None
    round: RoundFacts
    measures: tuple[MeasureFacts, ...] | None = None
    evidence_count: int | None = None
    signoffs: tuple[SignoffFacts, ...] | None = None
    mechanism_count: int | None = None

    def field(self, name: str) -> object:
        return getattr(self, name)


@dataclass(frozen=True, slots=True)
class GuardContext:
    actor: Actor
    role: str
    trigger: str
    source: str
    now: datetime
    today: date
    comment: str | None = None
