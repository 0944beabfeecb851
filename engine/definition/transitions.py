"""The ``transitions:`` section, the guards each one names, and the graph they make: every
state reachable from the initial one, every non-final state with a way out."""

from __future__ import annotations

from typing import Any

from ..guards import ParamError, Vocabulary, guards
from .checker import Checker, plain, scalar
from .model import REQUIRABLE_FIELDS, GuardUse, RoleDef, StateDef, TransitionDef
from .yamlsrc import LDict, LList

TRANSITION_KEYS = {"trigger", "source", "dest", "roles", "guards", "require", "label"}


def _guard_use(c: Checker, raw: Any, line: int, key: str, vocab: Vocabulary) -> GuardUse | None:
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
    return GuardUse(name, parsed, plain(params), line, gt)


def read_transitions(
    c: Checker, doc: LDict, states: dict[str, StateDef], roles: dict[str, RoleDef], vocab: Vocabulary
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
        trig = scalar(raw.get("trigger"))
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
        dest = scalar(raw.get("dest"))
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


def check_graph(
    c: Checker, doc: LDict, states: dict[str, StateDef], edges: list[tuple[str, str]], initial: str
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
