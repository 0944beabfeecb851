"""The frozen workflow model: what a deployed workflow is, whatever it was written in.

Plain frozen dataclasses and the vocabulary they admit (the escalation actions and
conditions, the edit actions, the report fields), as python-statemachine keeps its model
apart from any file format.  Nothing here reads YAML; :mod:`.reader` builds these from a file
and refuses it, with every line that is wrong, before any of them exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...i18n import Text
from ..durations import Duration
from ..guards import GuardType, Vocabulary

REQUIRABLE_FIELDS = frozenset({"comment"})
ACTIONS = frozenset({"remind", "warn", "escalate", "elevate", "notify"})
CONDITIONS = frozenset({"sla_exceeded", "due_in", "overdue", "idle", "past_final_deadline"})
SYSTEM_ROLE = "system"
MAX_VERSION = 1_000_000  # as Engine.workflow accepts, and well inside a 32-bit column
#: the issue fields that may name the one person who holds a role on it (``roles.X.holder``)
ROLE_HOLDERS = frozenset({"owner", "lead"})

#: edits other than transitions, and who may make them (declared under ``actions:``)
EDIT_ACTIONS = frozenset(
    {
        "open_round",
        "add_issue",
        "add_measure",
        "complete_measure",
        "add_evidence",
        "sign_off",
        "add_mechanism",
        "assign",
        "correct_issue",
        "request_extension",
        "decide_extension",
    }
)


@dataclass(frozen=True, slots=True)
class DefinitionProblem:
    file: str
    line: int
    key: str
    reason: Text

    def render(self, lang: str | None = None) -> str:
        where = f"{self.file}:{self.line}:" if self.key in ("", "-") else f"{self.file}:{self.line}: {self.key}:"
        return f"{where} {self.reason.render(lang)}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "key": self.key, "reason": self.reason.to_dict()}


@dataclass(frozen=True, slots=True)
class StateDef:
    name: str
    label: Text
    final: bool = False
    sla: Duration | None = None


@dataclass(frozen=True, slots=True)
class RoleDef:
    name: str
    label: Text
    holder: str | None = None  # the issue field naming the one person who holds this role on it


@dataclass(frozen=True, slots=True)
class GuardUse:
    name: str
    params: Any
    raw: Any
    line: int
    type: GuardType

    def describe(self) -> str:
        return self.name if self.raw is None else f"{self.name}: {self.raw}"


@dataclass(frozen=True, slots=True)
class TransitionDef:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: frozenset[str]
    guards: tuple[GuardUse, ...]
    require: frozenset[str]
    label: Text
    line: int
    #: the parts of an issue its guards read (measures, evidence …), loaded for them alone
    needs: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs", frozenset().union(*(g.type.needs for g in self.guards)))


@dataclass(frozen=True, slots=True)
class EscalationRule:
    name: str
    states: tuple[str, ...]
    when: Mapping[str, Any]
    action: str
    notify: tuple[str, ...]
    categories: frozenset[str] | None
    severities: frozenset[str] | None
    line: int
    new_deadline: Duration | None = None

    def applies_to(self, category: str, severity: str) -> bool:
        return (self.categories is None or category in self.categories) and (
            self.severities is None or severity in self.severities
        )


@dataclass(frozen=True, slots=True)
class LightRule:
    light: str
    when: Mapping[str, Any]
    line: int
    states: frozenset[str] | None = None  # None: every non-final state


@dataclass(frozen=True, slots=True)
class Lights:
    colours: Mapping[str, Text]  # in order: the first is "on track"
    rules: tuple[LightRule, ...]

    @property
    def default(self) -> str:
        return next(iter(self.colours))


@dataclass(frozen=True, slots=True)
class Escalation:
    calendar: str
    rules: tuple[EscalationRule, ...]
    lights: Lights | None = None


#: the fields of a problem a report can show; ``disclosure.public`` picks those the public
#: version may print (people's names and internal comments are left out unless listed)
REPORT_FIELDS = frozenset(
    {
        "number",
        "title",
        "category",
        "source",
        "unit",
        "due_date",
        "state",
        "light",
        "measures",
        "mechanisms",
        "owner",
        "lead",
        "measure_owners",
        "note",
    }
)
DEFAULT_PUBLIC_FIELDS = frozenset(
    {"number", "title", "category", "source", "unit", "due_date", "state", "measures", "mechanisms"}
)


@dataclass(frozen=True)
class WorkflowDefinition:
    name: str
    version: int
    title: Text
    initial: str
    states: Mapping[str, StateDef]
    roles: Mapping[str, RoleDef]
    categories: Mapping[str, Text]
    severities: Mapping[str, Text]
    transitions: tuple[TransitionDef, ...]
    escalation: Escalation | None
    actions: Mapping[str, frozenset[str]]
    source: str = field(repr=False)
    digest: str = ""
    #: where problems come from (问题来源): inspection feedback, audit findings, special checks
    sources: Mapping[str, Text] = field(default_factory=dict)
    #: the report fields the public version discloses
    public_fields: frozenset[str] = DEFAULT_PUBLIC_FIELDS
    #: the category of an imported problem whose list names none (``default_category:``)
    default_category: str | None = None

    @property
    def light_colours(self) -> Mapping[str, Text]:
        """The traffic lights this workflow shows, in order, with their labels (none if it has no lights)."""
        lights = self.escalation.lights if self.escalation else None
        return lights.colours if lights else {}

    @property
    def default_source(self) -> str:
        return next(iter(self.sources), "")

    @property
    def period_bound_categories(self) -> frozenset[str]:
        """Categories whose deadline must fall inside the concentrated period (立行立改), as
        the workflow's ``due_within_period`` guards declare them."""
        out: set[str] = set()
        for t in self.transitions:
            for g in t.guards:
                if g.name == "due_within_period":
                    out |= set(self.categories) if g.params is None else set(g.params)
        return frozenset(out)

    def triggers(self) -> list[str]:
        seen: dict[str, None] = {}
        for t in self.transitions:
            seen.setdefault(t.trigger, None)
        return list(seen)

    def transition(self, trigger: str, source: str) -> TransitionDef | None:
        for t in self.transitions:
            if t.trigger == trigger and source in t.sources:
                return t
        return None

    def transitions_from(self, source: str) -> list[TransitionDef]:
        return [t for t in self.transitions if source in t.sources]

    def label(self, state: str) -> Text:
        s = self.states.get(state)
        return s.label if s else Text(state, state)

    @property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary(
            frozenset(self.categories), frozenset(self.severities), frozenset(self.roles), frozenset(self.states)
        )
