"""Workflow definitions: load the administrator's YAML, validate all of it, freeze it.

Everything the engine enforces for a workflow is declared in its YAML — states, who may fire
which trigger, the guards and their parameters, the fields a trigger requires, the escalation
rules.  Validation collects every error (file, line, key, reason) before refusing, so an
administrator fixes a broken file in one pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..i18n import Text
from . import yamlsrc
from .calendars import calendars
from .durations import UNITS as DURATION_UNITS
from .durations import Duration
from .errors import WorkflowInvalid
from .guards import GuardType, ParamError, Vocabulary, guards
from .yamlsrc import LDict, LList

NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")
REQUIRABLE_FIELDS = frozenset({"comment"})
ACTIONS = frozenset({"remind", "warn", "escalate", "elevate", "notify"})
CONDITIONS = frozenset({"sla_exceeded", "due_in", "overdue", "idle", "past_final_deadline"})
SYSTEM_ROLE = "system"
MAX_VERSION = 1_000_000  # as Engine.workflow accepts, and well inside a 32-bit column


@dataclass(frozen=True, slots=True)
class DefinitionProblem:
    file: str
    line: int
    key: str
    reason: Text

    def render(self, lang: str | None = None) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.reason.render(lang)}"

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

    @property
    def needs(self) -> frozenset[str]:
        out: set[str] = set()
        for g in self.guards:
            out |= g.type.needs
        return frozenset(out)


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


# --- loading ----------------------------------------------------------------------------


def _scalar(v: Any) -> Any:
    """A value used as a name: lists and mappings become their text, so a wrong type gets a
    clear "not defined" error instead of breaking a lookup."""
    return v if v is None or isinstance(v, (str, int, float, bool)) else repr(_plain(v))


class _Checker:
    """Collects problems while reading one file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[DefinitionProblem] = []

    def err(self, line: int, key: str, zh: str, en: str) -> None:
        self.problems.append(DefinitionProblem(self.file, line, key, Text(zh, en)))

    def name_ok(self, value: Any, line: int, key: str, limit: int = 64) -> bool:
        if (
            not isinstance(value, str)
            or not value
            or len(value) > limit
            or not set(value) <= NAME_CHARS
            or value[0].isdigit()
        ):
            self.err(
                line,
                key,
                f"名称 {value!r} 须为 1-{limit} 个小写字母、数字和下划线",
                f"name {value!r} must be 1-{limit} lower-case letters, digits and _",
            )
            return False
        return True

    def label(self, raw: Any, line: int, key: str, fallback: str) -> Text:
        if raw is None:
            return Text(fallback, fallback)
        if not isinstance(raw, dict) or not isinstance(raw.get("zh"), str) or not isinstance(raw.get("en"), str):
            self.err(line, key, "标签须同时有 zh 和 en 文本", "a label needs both zh and en text")
            return Text(fallback, fallback)
        return Text(raw["zh"], raw["en"])

    def names(self, raw: Any, line: int, key: str) -> list[str]:
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            self.err(line, key, "应为名称或名称列表", "must be a name or a list of names")
            return []
        return list(items)

    def duration(self, raw: Any, line: int, key: str) -> Duration | None:
        if not isinstance(raw, dict) or len(raw) != 1:
            self.err(
                line, key, "期限应写作 {days: N} 或 {working_days: N}", "a duration is {days: N} or {working_days: N}"
            )
            return None
        ((unit, amount),) = raw.items()
        if unit not in DURATION_UNITS:
            self.err(line, key, f"未知的期限单位 {unit}", f"unknown duration unit {unit}")
            return None
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= 3650:
            self.err(line, key, "期限应为 0-3650 的整数", "a duration must be a whole number from 0 to 3650")
            return None
        return Duration(amount, unit)

    def mapping_of(self, doc: LDict, key: str, required: bool = True) -> LDict | None:
        v = doc.get(key)
        if v is None:
            if required:
                self.err(doc.line_of(key), key, f"缺少 {key}", f"{key} is missing")
            return None
        if not isinstance(v, LDict):
            self.err(doc.line_of(key), key, f"{key} 应为映射", f"{key} must be a mapping")
            return None
        return v


TOP_KEYS = {
    "name",
    "version",
    "title",
    "initial",
    "categories",
    "severities",
    "roles",
    "states",
    "transitions",
    "escalation",
    "description",
    "actions",
    "sources",
    "disclosure",
}


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
    }
)


def load_definition(path: str | Path) -> WorkflowDefinition:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise WorkflowInvalid(
            [DefinitionProblem(str(p), 1, "-", Text("文件不是 UTF-8 编码", f"file is not UTF-8: {exc}"))]
        ) from None
    except OSError as exc:
        raise WorkflowInvalid(
            [DefinitionProblem(str(p), 0, "-", Text(f"无法读取文件：{exc}", f"cannot read the file: {exc}"))]
        ) from None
    return parse_definition(text, str(p))


def parse_definition(text: str, file: str = "<workflow>") -> WorkflowDefinition:
    """Parse and validate a workflow; raise :class:`WorkflowInvalid` listing every problem."""
    c = _Checker(file)
    try:
        doc = yamlsrc.load(text)
    except yamlsrc.YamlSourceError as exc:
        raise WorkflowInvalid([DefinitionProblem(file, exc.line, "-", Text(exc.message_zh, exc.message_en))]) from None
    if not isinstance(doc, LDict):
        raise WorkflowInvalid(
            [DefinitionProblem(file, 1, "-", Text("工作流文件顶层应为映射", "the top level must be a mapping"))]
        )

    for k in doc:
        if k not in TOP_KEYS:
            c.err(doc.line_of(k), str(k), f"未知的键 {k}", f"unknown key {k}")

    name = _scalar(doc.get("name"))
    if name is None:
        c.err(1, "name", "缺少 name", "name is missing")
        name = "?"
    else:
        c.name_ok(name, doc.line_of("name"), "name")
    version = doc.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= MAX_VERSION:
        c.err(
            doc.line_of("version"),
            "version",
            f"version 应为 1-{MAX_VERSION} 的整数",
            f"version must be a whole number from 1 to {MAX_VERSION}",
        )
        version = 1
    title = c.label(doc.get("title"), doc.line_of("title"), "title", str(name))

    categories = _labelled_names(c, doc, "categories")
    severities = _labelled_names(c, doc, "severities")
    roles = _roles(c, doc)
    states = _states(c, doc)

    initial = _scalar(doc.get("initial"))
    if initial is None:
        c.err(1, "initial", "缺少初始状态 initial", "the initial state is missing")
    elif initial not in states:
        c.err(
            doc.line_of("initial"), "initial", f"初始状态 {initial} 未定义", f"initial state {initial} is not defined"
        )

    labels = {**{k: r.label for k, r in roles.items()}, **categories}
    vocab = Vocabulary(frozenset(categories), frozenset(severities), frozenset(roles), frozenset(states), labels)
    transitions, edges = _transitions(c, doc, states, roles, vocab)
    if states and isinstance(initial, str) and initial in states:
        _check_graph(c, doc, states, edges, initial)
    escalation = _escalation(c, doc, states, roles, vocab, transitions)
    actions = _actions(c, doc, roles)
    sources = _labelled_names(c, doc, "sources", required=False)
    public_fields = _disclosure(c, doc)

    if c.problems:
        raise WorkflowInvalid(c.problems)
    return WorkflowDefinition(
        name=name,
        version=version,
        title=title,
        initial=initial,
        states=MappingProxyType(states),
        roles=MappingProxyType(roles),
        categories=MappingProxyType(categories),
        severities=MappingProxyType(severities),
        transitions=tuple(transitions),
        escalation=escalation,
        actions=MappingProxyType(actions),
        sources=MappingProxyType(sources),
        public_fields=public_fields,
        source=text,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _actions(c: _Checker, doc: LDict, roles: dict[str, RoleDef]) -> dict[str, frozenset[str]]:
    m = c.mapping_of(doc, "actions")
    out: dict[str, frozenset[str]] = {}
    for a, raw in (m or {}).items():
        line = m.line_of(a)
        if a not in EDIT_ACTIONS:
            c.err(
                line,
                f"actions.{a}",
                f"未知的操作 {a}（可用：{', '.join(sorted(EDIT_ACTIONS))}）",
                f"unknown action {a} (known: {', '.join(sorted(EDIT_ACTIONS))})",
            )
            continue
        names = c.names(raw, line, f"actions.{a}")
        for r in names:
            if r not in roles:
                c.err(line, f"actions.{a}", f"未知的角色 {r}", f"unknown role {r}")
        out[a] = frozenset(names)
    # an action the file does not declare is open to nobody: workflows deployed before an
    # action existed stay loadable, and gain it only when an administrator grants it
    return out


def _disclosure(c: _Checker, doc: LDict) -> frozenset[str]:
    m = c.mapping_of(doc, "disclosure", required=False)
    if m is None:
        return DEFAULT_PUBLIC_FIELDS
    for k in m:
        if k != "public":
            c.err(m.line_of(k), f"disclosure.{k}", f"未知的键 {k}（可用：public）", f"unknown key {k} (known: public)")
    if "public" not in m:
        c.err(m.line, "disclosure.public", "缺少 public", "public is missing")
        return DEFAULT_PUBLIC_FIELDS
    names = c.names(m["public"], m.line_of("public"), "disclosure.public")
    for n in names:
        if n not in REPORT_FIELDS:
            c.err(
                m.line_of("public"),
                "disclosure.public",
                f"未知的字段 {n}（可用：{', '.join(sorted(REPORT_FIELDS))}）",
                f"unknown field {n} (known: {', '.join(sorted(REPORT_FIELDS))})",
            )
    return frozenset(n for n in names if n in REPORT_FIELDS)


def _labelled_names(c: _Checker, doc: LDict, key: str, required: bool = True) -> dict[str, Text]:
    m = c.mapping_of(doc, key, required)
    out: dict[str, Text] = {}
    for n, raw in (m or {}).items():
        # categories, severities and sources are stored with each issue, in columns 32 wide
        if c.name_ok(n, m.line_of(n), f"{key}.{n}", limit=32):
            out[n] = c.label(raw, m.line_of(n), f"{key}.{n}", n)
    if m is not None and not out:
        c.err(m.line, key, f"{key} 不能为空", f"{key} must not be empty")
    return out


ROLE_HOLDERS = frozenset({"owner", "lead"})


def _roles(c: _Checker, doc: LDict) -> dict[str, RoleDef]:
    m = c.mapping_of(doc, "roles")
    out: dict[str, RoleDef] = {}
    for n, raw in (m or {}).items():
        line = m.line_of(n)
        if not c.name_ok(n, line, f"roles.{n}"):
            continue
        holder = None
        if isinstance(raw, dict):
            for k in raw:
                if k not in {"zh", "en", "holder"}:
                    c.err(raw.line_of(k), f"roles.{n}.{k}", f"未知的键 {k}", f"unknown key {k}")
            holder = _scalar(raw.get("holder"))
            if holder is not None and holder not in ROLE_HOLDERS:
                c.err(
                    raw.line_of("holder"),
                    f"roles.{n}.holder",
                    f"holder 只能是 {', '.join(sorted(ROLE_HOLDERS))}",
                    f"holder must be one of {', '.join(sorted(ROLE_HOLDERS))}",
                )
                holder = None
        out[n] = RoleDef(n, c.label(raw, line, f"roles.{n}", n), holder)
    if SYSTEM_ROLE not in out and m is not None:
        out[SYSTEM_ROLE] = RoleDef(SYSTEM_ROLE, Text("系统（定时任务）", "system (scheduler)"))
    return out


def _states(c: _Checker, doc: LDict) -> dict[str, StateDef]:
    m = c.mapping_of(doc, "states")
    out: dict[str, StateDef] = {}
    for n, raw in (m or {}).items():
        line = m.line_of(n)
        key = f"states.{n}"
        if not c.name_ok(n, line, key):
            continue
        if raw is not None and not isinstance(raw, dict):
            c.err(line, key, "状态应为映射", "a state must be a mapping")
            continue
        raw = raw or LDict()
        for k in raw:
            if k not in {"zh", "en", "final", "sla"}:
                c.err(raw.line_of(k), f"{key}.{k}", f"未知的键 {k}", f"unknown key {k}")
        final = raw.get("final", False)
        if not isinstance(final, bool):
            c.err(raw.line_of("final"), f"{key}.final", "final 应为 true 或 false", "final must be true or false")
            final = False
        sla = c.duration(raw["sla"], raw.line_of("sla"), f"{key}.sla") if "sla" in raw else None
        out[n] = StateDef(n, c.label(raw if ("zh" in raw or "en" in raw) else None, line, key, n), final, sla)
    if m is not None and not out:
        c.err(m.line, "states", "至少需要一个状态", "at least one state is needed")
    return out


def _guard_use(c: _Checker, raw: Any, line: int, key: str, vocab: Vocabulary) -> GuardUse | None:
    if isinstance(raw, str):
        name, params = raw, None
    elif isinstance(raw, dict) and len(raw) == 1:
        ((name, params),) = raw.items()
    else:
        c.err(line, key, "守卫应写作 名称 或 {名称: 参数}", "a guard is written as name or {name: params}")
        return None
    if name not in guards:
        broken = guards.types.broken_plugins()
        c.err(
            line,
            key,
            f"未知的守卫 {name}（已有：{', '.join(guards.names())}）"
            + (f"；未能加载的插件：{broken}" if broken else ""),
            f"unknown guard {name} (known: {', '.join(guards.names())})"
            + (f"; plugins that failed to load: {broken}" if broken else ""),
        )
        return None
    gt = guards.get(name)
    try:
        parsed = gt.parse(params, vocab)
    except ParamError as exc:
        c.err(
            line,
            f"{key}.{name}",
            f"守卫 {name} 参数有误：{exc.text.zh}",
            f"bad parameters for guard {name}: {exc.text.en}",
        )
        return None
    return GuardUse(name, parsed, _plain(params), line, gt)


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


TRANSITION_KEYS = {"trigger", "source", "dest", "roles", "guards", "require", "label"}


def _transitions(
    c: _Checker, doc: LDict, states: dict[str, StateDef], roles: dict[str, RoleDef], vocab: Vocabulary
) -> tuple[list[TransitionDef], list[tuple[str, str]]]:
    """The valid transitions, and the graph's edges from every transition whose states are
    defined (so one bad guard does not also make its states look unreachable)."""
    raw_list = doc.get("transitions")
    if raw_list is None:
        c.err(1, "transitions", "缺少 transitions", "transitions are missing")
        return [], []
    if not isinstance(raw_list, LList):
        c.err(doc.line_of("transitions"), "transitions", "transitions 应为列表", "transitions must be a list")
        return [], []
    out: list[TransitionDef] = []
    edges: list[tuple[str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, raw in enumerate(raw_list):
        line = raw_list.line_of(i)
        if not isinstance(raw, LDict):
            c.err(line, f"transitions[{i}]", "转换应为映射", "a transition must be a mapping")
            continue
        trig = _scalar(raw.get("trigger"))
        key = f"transitions[{i}]" if not isinstance(trig, str) else f"transitions.{trig}"
        ok = True
        for k in raw:
            if k not in TRANSITION_KEYS:
                c.err(raw.line_of(k), f"{key}.{k}", f"未知的键 {k}", f"unknown key {k}")
        if trig is None:
            c.err(line, key, "缺少 trigger", "trigger is missing")
            ok = False
        elif not c.name_ok(trig, raw.line_of("trigger"), f"{key}.trigger"):
            ok = False
        sources = c.names(raw.get("source"), raw.line_of("source"), f"{key}.source") if "source" in raw else []
        if "source" not in raw:
            c.err(line, f"{key}.source", "缺少 source", "source is missing")
            ok = False
        elif not sources and raw.get("source") is not None:
            c.err(
                raw.line_of("source"), f"{key}.source", "source 至少要有一个状态", "source must name at least one state"
            )
            ok = False
        for s in sources:
            if s not in states:
                c.err(
                    raw.line_of("source"), f"{key}.source", f"来源状态 {s} 未定义", f"source state {s} is not defined"
                )
                ok = False
        dest = _scalar(raw.get("dest"))
        if dest is None:
            c.err(line, f"{key}.dest", "缺少 dest", "dest is missing")
            ok = False
        elif dest not in states:
            c.err(
                raw.line_of("dest"),
                f"{key}.dest",
                f"目标状态 {dest} 未定义",
                f"destination state {dest} is not defined",
            )
            ok = False
        role_names = c.names(raw.get("roles"), raw.line_of("roles"), f"{key}.roles") if "roles" in raw else []
        if not role_names:
            c.err(
                raw.line_of("roles"),
                f"{key}.roles",
                "每个转换须声明可执行的角色",
                "every transition must declare the roles allowed to fire it",
            )
            ok = False
        for r in role_names:
            if r not in roles:
                c.err(raw.line_of("roles"), f"{key}.roles", f"未知的角色 {r}", f"unknown role {r}")
                ok = False
        guard_uses: list[GuardUse] = []
        graw = raw.get("guards", [])
        if not isinstance(graw, list):
            c.err(raw.line_of("guards"), f"{key}.guards", "guards 应为列表", "guards must be a list")
            ok = False
        else:
            for j, g in enumerate(graw):
                gline = graw.line_of(j) if isinstance(graw, LList) else line
                use = _guard_use(c, g, gline, f"{key}.guards[{j}]", vocab)
                if use is None:
                    ok = False
                else:
                    guard_uses.append(use)
        require = c.names(raw.get("require", []), raw.line_of("require"), f"{key}.require")
        for f in require:
            if f not in REQUIRABLE_FIELDS:
                c.err(raw.line_of("require"), f"{key}.require", f"未知的必填字段 {f}", f"unknown required field {f}")
                ok = False
        label = c.label(raw.get("label"), raw.line_of("label"), f"{key}.label", str(trig))
        for s in sources:
            if isinstance(trig, str):
                if (trig, s) in seen:
                    c.err(
                        line,
                        key,
                        f"触发器 {trig} 从状态 {s} 重复定义（另见第 {seen[(trig, s)]} 行）",
                        f"trigger {trig} is defined twice from state {s} (also line {seen[(trig, s)]})",
                    )
                    ok = False
                seen[(trig, s)] = line
        if dest in states:
            edges += [(s, dest) for s in sources if s in states]
        if ok:
            out.append(
                TransitionDef(
                    trig,
                    tuple(sources),
                    dest,
                    frozenset(role_names),
                    tuple(guard_uses),
                    frozenset(require),
                    label,
                    line,
                )
            )
    return out, edges


def _check_graph(
    c: _Checker, doc: LDict, states: dict[str, StateDef], edges: list[tuple[str, str]], initial: str
) -> None:
    sm = doc.get("states")
    reach = {initial}
    frontier = [initial]
    while frontier:
        s = frontier.pop()
        for src, dest in edges:
            if src == s and dest not in reach:
                reach.add(dest)
                frontier.append(dest)
    for name, st in states.items():
        line = sm.line_of(name) if isinstance(sm, LDict) else 1
        if name not in reach:
            c.err(
                line,
                f"states.{name}",
                f"状态 {name} 从初始状态 {initial} 不可达",
                f"state {name} cannot be reached from {initial}",
            )
        if not st.final and not any(src == name for src, _ in edges):
            c.err(line, f"states.{name}", f"非终态 {name} 没有出口", f"non-final state {name} has no way out")
    if not any(st.final for st in states.values()):
        c.err(
            sm.line if isinstance(sm, LDict) else 1,
            "states",
            "至少需要一个终态（final: true）",
            "at least one state must be final (final: true)",
        )


def _declares_trigger(doc: LDict, name: str) -> bool:
    """Whether any transition names this trigger, valid or not (so that one bad transition
    does not also make every rule that uses its trigger look wrong)."""
    raw = doc.get("transitions")
    return isinstance(raw, list) and any(isinstance(t, dict) and t.get("trigger") == name for t in raw)


def _escalation(
    c: _Checker,
    doc: LDict,
    states: dict[str, StateDef],
    roles: dict[str, RoleDef],
    vocab: Vocabulary,
    transitions: list[TransitionDef],
) -> Escalation | None:
    m = c.mapping_of(doc, "escalation", required=False)
    if m is None:
        return None
    for k in m:
        if k not in {"calendar", "rules", "lights"}:
            c.err(m.line_of(k), f"escalation.{k}", f"未知的键 {k}", f"unknown key {k}")
    cal = _scalar(m.get("calendar", "natural"))
    if cal not in calendars:
        broken = calendars.types.broken_plugins()
        c.err(
            m.line_of("calendar"),
            "escalation.calendar",
            f"未知的日历 {cal}（可用：{', '.join(calendars.names())}）"
            + (f"；未能加载的插件：{broken}" if broken else ""),
            f"unknown calendar {cal} (known: {', '.join(calendars.names())})"
            + (f"; plugins that failed to load: {broken}" if broken else ""),
        )
    rules_raw = m.get("rules", LList())
    rules: list[EscalationRule] = []
    if "rules" not in m:
        rules_raw.line, rules_raw.item_lines = m.line, []
    elif not isinstance(rules_raw, LList):
        c.err(m.line_of("rules"), "escalation.rules", "rules 应为列表", "rules must be a list")
        return Escalation(str(cal), (), None)
    names: set[str] = set()
    for i, r in enumerate(rules_raw):
        line = rules_raw.line_of(i)
        if not isinstance(r, LDict):
            c.err(line, f"escalation.rules[{i}]", "规则应为映射", "a rule must be a mapping")
            continue
        rname = _scalar(r.get("name", f"rule{i}"))
        key = f"escalation.rules.{rname}"
        ok = True
        for k in r:
            if k not in {"name", "state", "when", "action", "notify", "categories", "severities", "new_deadline"}:
                c.err(r.line_of(k), f"{key}.{k}", f"未知的键 {k}", f"unknown key {k}")
        if rname in names:
            c.err(line, key, f"规则名 {rname} 重复", f"rule name {rname} is used twice")
        names.add(rname)
        st = c.names(r.get("state"), r.line_of("state"), f"{key}.state") if "state" in r else []
        if not st:
            c.err(line, f"{key}.state", "规则须指明适用的状态", "a rule must name its states")
            ok = False
        for s in st:
            if s not in states:
                c.err(r.line_of("state"), f"{key}.state", f"状态 {s} 未定义", f"state {s} is not defined")
                ok = False
        action = _scalar(r.get("action"))
        if action not in ACTIONS:
            c.err(
                r.line_of("action"),
                f"{key}.action",
                f"未知的动作 {action}（可用：{', '.join(sorted(ACTIONS))}）",
                f"unknown action {action} (known: {', '.join(sorted(ACTIONS))})",
            )
            ok = False
        elif action == "escalate" and not _declares_trigger(doc, "escalate"):
            c.err(
                r.line_of("action"),
                f"{key}.action",
                "escalate 动作需要工作流定义 escalate 触发器",
                "the escalate action needs an escalate trigger in the workflow",
            )
            ok = False
        when = r.get("when")
        if not _when_ok(c, when, r.line_of("when"), key):
            ok = False
        new_deadline = None
        if "new_deadline" in r:
            new_deadline = c.duration(r["new_deadline"], r.line_of("new_deadline"), f"{key}.new_deadline")
            if new_deadline is None:
                ok = False
            elif action != "warn":
                c.err(
                    r.line_of("new_deadline"),
                    f"{key}.new_deadline",
                    "new_deadline 只用于 warn 动作",
                    "new_deadline goes with the warn action only",
                )
                ok = False
        notify = c.names(r.get("notify", []), r.line_of("notify"), f"{key}.notify")
        for n in notify:  # a role, or a named person as user:ID
            if n.startswith("user:") and len(n) > 5:
                continue
            if n not in roles:
                c.err(
                    r.line_of("notify"),
                    f"{key}.notify",
                    f"未知的角色 {n}（指定个人请写 user:工号）",
                    f"unknown role {n} (name a person as user:ID)",
                )
                ok = False
        cats = sevs = None
        if "categories" in r:
            cats = frozenset(c.names(r["categories"], r.line_of("categories"), f"{key}.categories"))
            for x in cats - vocab.categories:
                c.err(r.line_of("categories"), f"{key}.categories", f"未知的类别 {x}", f"unknown category {x}")
                ok = False
        if "severities" in r:
            sevs = frozenset(c.names(r["severities"], r.line_of("severities"), f"{key}.severities"))
            for x in sevs - vocab.severities:
                c.err(r.line_of("severities"), f"{key}.severities", f"未知的严重程度 {x}", f"unknown severity {x}")
                ok = False
        if ok:
            rules.append(
                EscalationRule(
                    str(rname),
                    tuple(st),
                    MappingProxyType(_plain(when)),
                    action,
                    tuple(notify),
                    cats,
                    sevs,
                    line,
                    new_deadline,
                )
            )
    return Escalation(str(cal), tuple(rules), _lights(c, m, states))


def _when_ok(c: _Checker, when: Any, line: int, key: str) -> bool:
    """``when: {sla_exceeded: true, due_in: {working_days: 5}, overdue: {days: 0}, idle: {days: 30}}``"""
    if not isinstance(when, dict) or not when:
        c.err(line, f"{key}.when", "when 条件缺失或为空", "the when condition is missing or empty")
        return False
    ok = True
    for cond, v in when.items():
        cl = when.line_of(cond) if isinstance(when, LDict) else line
        if cond not in CONDITIONS:
            c.err(
                cl,
                f"{key}.when.{cond}",
                f"未知的条件 {cond}（可用：{', '.join(sorted(CONDITIONS))}）",
                f"unknown condition {cond} (known: {', '.join(sorted(CONDITIONS))})",
            )
            ok = False
        elif cond in ("sla_exceeded", "past_final_deadline"):
            if v is not True:
                c.err(cl, f"{key}.when.{cond}", f"{cond} 只能写 true", f"{cond} can only be true")
                ok = False
        elif c.duration(v, cl, f"{key}.when.{cond}") is None:
            ok = False
    return ok


def _lights(c: _Checker, m: LDict, states: dict[str, StateDef]) -> Lights | None:
    """``lights: {colours: {green: {zh, en}, ...}, rules: [{light: red, when: {...}}, ...]}``: the
    first rule that holds sets the light, otherwise the first colour (on track)."""
    raw = m.get("lights")
    if raw is None:
        return None
    if not isinstance(raw, LDict):
        c.err(m.line_of("lights"), "escalation.lights", "lights 应为映射", "lights must be a mapping")
        return None
    for k in raw:
        if k not in {"colours", "rules"}:
            c.err(raw.line_of(k), f"escalation.lights.{k}", f"未知的键 {k}", f"unknown key {k}")
    colours: dict[str, Text] = {}
    cm = raw.get("colours")
    if not isinstance(cm, LDict) or not cm:
        c.err(raw.line_of("colours"), "escalation.lights.colours", "须列出灯的颜色", "list the light colours")
    else:
        for n, lab in cm.items():
            if c.name_ok(n, cm.line_of(n), f"escalation.lights.colours.{n}"):
                colours[n] = c.label(lab, cm.line_of(n), f"escalation.lights.colours.{n}", n)
    rules: list[LightRule] = []
    rr = raw.get("rules", LList())
    if not isinstance(rr, list):
        c.err(raw.line_of("rules"), "escalation.lights.rules", "rules 应为列表", "rules must be a list")
        rr = []
    for i, r in enumerate(rr):
        line = rr.line_of(i) if isinstance(rr, LList) else raw.line
        key = f"escalation.lights.rules[{i}]"
        if not isinstance(r, LDict):
            c.err(line, key, "规则应为映射", "a rule must be a mapping")
            continue
        colour = _scalar(r.get("light"))
        ok = _when_ok(c, r.get("when"), r.line_of("when"), key)
        for k in r:
            if k not in {"light", "when", "state"}:
                c.err(r.line_of(k), f"{key}.{k}", f"未知的键 {k}", f"unknown key {k}")
        lstates = None
        if "state" in r:
            lstates = frozenset(c.names(r["state"], r.line_of("state"), f"{key}.state"))
            for x in lstates - set(states):
                c.err(r.line_of("state"), f"{key}.state", f"状态 {x} 未定义", f"state {x} is not defined")
                ok = False
        if colour not in colours:
            c.err(r.line_of("light"), f"{key}.light", f"未定义的颜色 {colour}", f"colour {colour} is not defined")
            ok = False
        if ok:
            rules.append(LightRule(str(colour), MappingProxyType(_plain(r["when"])), line, lstates))
    return Lights(MappingProxyType(colours), tuple(rules)) if colours else None


BUILTIN_DIR = Path(__file__).resolve().parent.parent / "workflows"


#: the workflows shipped with zhenggai, deployed by ``zhenggai init``
BUILTIN_WORKFLOWS = ("rectification", "audit")


def builtin_path(name: str) -> Path:
    return BUILTIN_DIR / f"{name}.yaml"


def builtin(name: str = "rectification") -> WorkflowDefinition:
    return load_definition(builtin_path(name))
