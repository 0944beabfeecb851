"""The ``escalation:`` section: the calendar, the rules with their conditions and actions,
and the traffic lights."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from ...i18n import Text
from ..calendars import calendars
from ..guards import Vocabulary
from .checker import Checker, plain, scalar
from .model import ACTIONS, CONDITIONS, Escalation, EscalationRule, LightRule, Lights, RoleDef, StateDef, TransitionDef
from .yamlsrc import LDict, LList


def _declares_trigger(doc: LDict, name: str) -> bool:
    """Whether any transition names this trigger, valid or not (so that one bad transition
    does not also make every rule that uses its trigger look wrong)."""
    raw = doc.get("transitions")
    return isinstance(raw, list) and any(isinstance(t, dict) and t.get("trigger") == name for t in raw)


def read_escalation(
    c: Checker,
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
    cal = scalar(m.get("calendar", "natural"))
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
        rname = scalar(r.get("name", f"rule{i}"))
        key = f"escalation.rules.{rname}"
        ok = True
        for k in r:
            if k not in {"name", "state", "when", "action", "notify", "categories", "severities", "new_deadline"}:
                c.err(r.line_of(k), f"{key}.{k}", f"未知的键 {k}", f"unknown key {k}")
        # a rule's name is stored in each issue's list of fired rules (comma-separated) and in
        # every escalation record: a comma or a space in it would make the rule never count as fired
        if not c.name_ok(rname, r.line_of("name") if "name" in r else line, f"{key}.name"):
            ok = False
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
        action = scalar(r.get("action"))
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
                    MappingProxyType(plain(when)),
                    action,
                    tuple(notify),
                    cats,
                    sevs,
                    line,
                    new_deadline,
                )
            )
    return Escalation(str(cal), tuple(rules), _lights(c, m, states))


def _when_ok(c: Checker, when: Any, line: int, key: str) -> bool:
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


def _lights(c: Checker, m: LDict, states: dict[str, StateDef]) -> Lights | None:
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
        colour = scalar(r.get("light"))
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
            rules.append(LightRule(str(colour), MappingProxyType(plain(r["when"])), line, lstates))
    return Lights(MappingProxyType(colours), tuple(rules)) if colours else None
