"""Workflow definitions: load the administrator's YAML, validate all of it, freeze it.

Everything the engine enforces for a workflow is declared in its YAML — states, who may fire
which trigger, the guards and their parameters, the fields a trigger requires, the escalation
rules.  Validation collects every error (file, line, key, reason) before refusing, so an
administrator fixes a broken file in one pass.  This module reads the top level and the
small sections; transitions and the escalation block have modules of their own.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import MappingProxyType

from ...i18n import Text
from ..errors import WorkflowInvalid
from ..guards import Vocabulary
from . import yamlsrc
from .checker import Checker, scalar
from .escalation import read_escalation
from .model import (
    DEFAULT_PUBLIC_FIELDS,
    EDIT_ACTIONS,
    MAX_VERSION,
    REPORT_FIELDS,
    ROLE_HOLDERS,
    SYSTEM_ROLE,
    DefinitionProblem,
    RoleDef,
    StateDef,
    WorkflowDefinition,
)
from .transitions import check_graph, read_transitions
from .yamlsrc import LDict

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
    "default_category",
}


def load_definition(path: str | Path) -> WorkflowDefinition:
    """A workflow file, validated as a version about to be deployed (``new``)."""
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
    return parse_definition(text, str(p), new=True)


def parse_definition(text: str, file: str = "<workflow>", *, new: bool = False) -> WorkflowDefinition:
    """Parse and validate a workflow; raise :class:`WorkflowInvalid` listing every problem.

    ``new`` for a version about to be deployed (a file validated or deployed): it must also meet
    the rules added since older versions were accepted (no category labelled like a state), which
    a version already deployed is not held to when it is read back."""
    c = Checker(file)
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

    name = scalar(doc.get("name"))
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
    if new:
        _distinct_labels(c, doc, categories, states)

    initial = scalar(doc.get("initial"))
    if initial is None:
        c.err(1, "initial", "缺少初始状态 initial", "the initial state is missing")
    elif initial not in states:
        c.err(
            doc.line_of("initial"), "initial", f"初始状态 {initial} 未定义", f"initial state {initial} is not defined"
        )

    labels = {**{k: r.label for k, r in roles.items()}, **categories}
    vocab = Vocabulary(frozenset(categories), frozenset(severities), frozenset(roles), frozenset(states), labels)
    transitions, edges = read_transitions(c, doc, states, roles, vocab)
    if states and isinstance(initial, str) and initial in states:
        check_graph(c, doc, states, edges, initial)
    escalation = read_escalation(c, doc, states, roles, vocab, transitions)
    actions = _actions(c, doc, roles)
    sources = _labelled_names(c, doc, "sources", required=False)
    public_fields = _disclosure(c, doc)
    default_category = scalar(doc.get("default_category"))
    if default_category is not None and default_category not in categories:
        c.err(
            doc.line_of("default_category"),
            "default_category",
            f"默认问题类别 {default_category} 未在 categories 中定义",
            f"the default category {default_category} is not one of the categories",
        )

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
        default_category=default_category if isinstance(default_category, str) else None,
        source=text,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _actions(c: Checker, doc: LDict, roles: dict[str, RoleDef]) -> dict[str, frozenset[str]]:
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


def _disclosure(c: Checker, doc: LDict) -> frozenset[str]:
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


def _labelled_names(c: Checker, doc: LDict, key: str, required: bool = True) -> dict[str, Text]:
    m = c.mapping_of(doc, key, required)
    out: dict[str, Text] = {}
    for n, raw in (m or {}).items():
        # categories, severities and sources are stored with each issue, in columns 32 wide
        if c.name_ok(n, m.line_of(n), f"{key}.{n}", limit=32):
            out[n] = c.label(raw, m.line_of(n), f"{key}.{n}", n)
    if m is not None and not out:
        c.err(m.line, key, f"{key} 不能为空", f"{key} must not be empty")
    return out


def _distinct_labels(c: Checker, doc: LDict, categories: dict[str, Text], states: dict[str, StateDef]) -> None:
    """No category is labelled like a state: a list printing "[挂牌督办] … 挂牌督办" says nothing."""
    m = doc.get("categories")
    for name, label in categories.items():
        for s in states.values():
            same = [x for x, y in ((label.zh, s.label.zh), (label.en, s.label.en)) if x.casefold() == y.casefold()]
            if same:
                c.err(
                    m.line_of(name) if isinstance(m, LDict) else doc.line_of("categories"),
                    f"categories.{name}",
                    f"问题类别 {name} 与状态 {s.name} 同名（{same[0]}）：请用不同的名称",
                    f"category {name} has the same label as state {s.name} ({same[0]}): give it another",
                )


def _roles(c: Checker, doc: LDict) -> dict[str, RoleDef]:
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
            holder = scalar(raw.get("holder"))
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


def _states(c: Checker, doc: LDict) -> dict[str, StateDef]:
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
