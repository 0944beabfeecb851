"""Every text the command line prints beyond one sentence: tables aligned for CJK text, the issue
card, history, explanations, statistics, reports of sweeps, migrations and audits.

Each renderer is a function of what the Engine returned and the language to put first, and
returns the text (colours included; ``click.echo`` drops them when the output is not a
terminal).  Nothing here reads the database or decides anything, so the demo prints its ledger
with the same function as ``zhenggai issue list``.  Labels the command line adds are shown in
both languages, the first one leading, as every message is (:meth:`~zhenggai.i18n.Text.render`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..engine.progress import Progress
from ..i18n import Text

if TYPE_CHECKING:
    from ..api.clients import Client
    from ..engine.definition import WorkflowDefinition
    from ..engine.diff import Change
    from ..engine.explain import Explanation
    from ..engine.history import AuditReport, ChainReport
    from ..engine.migration import MigrationReport
    from ..engine.service import IssueView, SweepReport, WorkflowInfo
    from ..reporting.draft import DraftInfo

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
LIGHT_STYLE = {"green": "green", "yellow": "yellow", "red": "red", "blue": "blue", "orange": "yellow"}


def _both(lang: str) -> Callable[[str, str], str]:
    """A label in both languages, ``lang`` first."""
    return lambda zh, en: Text(zh, en).render(lang)


def width(s: str) -> int:
    """Cells on screen: wide characters take two, colour codes none."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in _ANSI.sub("", s))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns aligned for CJK text (wide characters take two cells)."""
    cells = [[("" if v is None else str(v)) for v in r] for r in rows]
    widths = [max([width(h)] + [width(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(vals: Sequence[str]) -> str:
        return "  ".join(v + " " * (w - width(v)) for v, w in zip(vals, widths, strict=True)).rstrip()

    lines = [line(headers), line(["-" * w for w in widths])]
    lines += [line(r) for r in cells]
    return "\n".join(lines)


R = TypeVar("R")
#: a table column: its header (a label in both languages, or as it is) and how a row shows in it
Column = tuple[tuple[str, str] | str, Callable[[R], Any]]


def columns(t: Callable[[str, str], str], spec: Sequence[Column[R]], rows: Iterable[R]) -> str:
    """A :func:`table` given column by column: each header next to the value under it."""
    heads = [h if isinstance(h, str) else t(*h) for h, _ in spec]
    return table(heads, [[value(r) for _, value in spec] for r in rows])


def clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def light(v: IssueView, lang: str) -> str:
    """The traffic light as a coloured dot and its label; empty when the issue has none."""
    if not v.light:
        return ""
    label = v.light_label.get(lang) if v.light_label else v.light
    return click.style("●", fg=LIGHT_STYLE.get(v.light)) + label


def _mark(ok: bool) -> str:
    return click.style("✓", fg="green") if ok else click.style("✗", fg="red")


# --- workflows ---------------------------------------------------------------------------


def workflow_list(infos: Sequence[WorkflowInfo], lang: str) -> str:
    t = _both(lang)
    spec: list[Column[WorkflowInfo]] = [
        (("名称", "name"), lambda i: i.name),
        (("版本", "version"), lambda i: i.version),
        (("部署时间", "deployed"), lambda i: i.deployed_at.strftime("%Y-%m-%d %H:%M")),
        (("部署人", "by"), lambda i: i.deployed_by),
        ("sha256", lambda i: i.digest[:12]),
        (("状态", "status"), lambda i: t("已停用", "deprecated") if i.deprecated else ""),
    ]
    return columns(t, spec, infos)


def workflow(d: WorkflowDefinition, lang: str) -> str:
    """The states and the transitions of a definition, as two tables."""
    t = _both(lang)
    states = table(
        [t("状态", "state"), t("名称", "label"), "SLA", t("终态", "final")],
        [
            [s.name, s.label.render(lang), s.sla.to_dict() if s.sla else "", "✓" if s.final else ""]
            for s in d.states.values()
        ],
    )
    transitions = table(
        [
            t("操作", "trigger"),
            t("从", "from"),
            t("到", "to"),
            t("角色", "roles"),
            t("守卫", "guards"),
            t("必填", "requires"),
        ],
        [
            [
                f"{tr.trigger} ({tr.label.get(lang)})",
                ",".join(tr.sources),
                tr.dest,
                ",".join(sorted(tr.roles)),
                "; ".join(g.describe() for g in tr.guards),
                ",".join(sorted(tr.require)),
            ]
            for tr in d.transitions
        ],
    )
    return "\n".join([f"{d.title.render(lang)}  ({d.name} v{d.version})", states, "", transitions])


def workflow_diff(left: WorkflowDefinition, right: WorkflowDefinition, changes: Sequence[Change], lang: str) -> str:
    if not changes:
        return _both(lang)("两个版本的规则相同", "the two versions have the same rules")
    lines = [f"{left.name} v{left.version} → {right.name} v{right.version}"]
    for ch in changes:
        colour = {"added": "green", "removed": "red", "changed": "yellow"}[ch.change]
        first, *rest = ch.render(lang)
        lines += [click.style(first, fg=colour), *rest]
    return "\n".join(lines)


def migration(rep: MigrationReport, name: str, from_version: int, to_version: int, dry_run: bool, lang: str) -> str:
    t = _both(lang)
    verb = Text("将迁移", "would move") if dry_run else Text("已迁移", "moved")
    lines = [
        t(
            f"{verb.zh} {rep.total} 个问题：{name} 第 {from_version} 版 → 第 {to_version} 版",
            f"{verb.en} {rep.total} issues: {name} v{from_version} → v{to_version}",
        )
    ]
    if rep.moves:
        lines.append(
            table(
                [t("原状态", "from"), t("新状态", "to"), t("数量", "count")],
                [[a, b, n] for (a, b), n in sorted(rep.moves.items())],
            )
        )
    return "\n".join(lines)


def guards(described: Sequence[Mapping[str, str]], lang: str) -> str:
    t = _both(lang)
    return table(
        [t("守卫", "guard"), t("说明", "what it checks")], [[x["name"], " ".join(x["doc"].split())] for x in described]
    )


# --- rounds ------------------------------------------------------------------------------


def round_list(rounds: Sequence[Mapping[str, Any]], lang: str) -> str:
    spec: list[Column[Mapping[str, Any]]] = [
        (("轮次", "round"), lambda r: r["code"]),
        (("标题", "title"), lambda r: r["title"]),
        (("来源", "source"), lambda r: r["source"]),
        (("反馈日", "feedback"), lambda r: r["feedback_date"]),
        (("整改期至", "period end"), lambda r: r["period_end"]),
        (("问题数", "issues"), lambda r: r["issues"]),
        (("已销号", "closed"), lambda r: r["by_state"].get("closed", 0)),
    ]
    return columns(_both(lang), spec, rounds)


def round_card(r: Mapping[str, Any], d: WorkflowDefinition, lang: str) -> str:
    """One round, and its issues by state: its own workflow's states first, then those of
    issues following another workflow."""
    t = _both(lang)
    over = Text("已结束", "over") if r["period_over"] else Text("进行中", "running")
    by_state = r["by_state"]
    return "\n".join(
        [
            f"{r['code']}  {r['title']}",
            t(
                f"被巡视单位：{r['org']}  来源：{r['source']}  反馈日：{r['feedback_date']}",
                f"org: {r['org']}  source: {r['source']}  feedback: {r['feedback_date']}",
            ),
            t(
                f"集中整改期至：{r['period_end']}（{over.zh}）",
                f"concentrated period ends: {r['period_end']} ({over.en})",
            ),
            table(
                [t("状态", "state"), t("数量", "count")],
                [[d.label(s).render(lang), by_state.get(s, 0)] for s in d.states]
                + [[s, n] for s, n in by_state.items() if s not in d.states],
            ),
        ]
    )


# --- issues ------------------------------------------------------------------------------


def ledger(
    views: Sequence[IssueView],
    lang: str,
    definition: Callable[[str, int], WorkflowDefinition],
    *,
    bilingual: bool = True,
) -> str:
    """Issues as the ledger's rows; ``definition(name, version)`` names their categories.
    The demo's story shows the headers in one language (``bilingual=False``)."""
    defs: dict[tuple[str, int], WorkflowDefinition] = {}

    def d_of(v: IssueView) -> WorkflowDefinition:
        key = (v.workflow, v.workflow_version)
        if key not in defs:
            defs[key] = definition(*key)
        return defs[key]

    def t(zh: str, en: str) -> str:
        return Text(zh, en).render(lang) if bilingual else Text(zh, en).get(lang)

    spec: list[Column[IssueView]] = [
        (("编号", "code"), lambda v: v.code),
        (("类别", "category"), lambda v: d_of(v).categories[v.category].get(lang)),
        (("问题", "title"), lambda v: clip(v.title, 24)),
        (("责任部门", "unit"), lambda v: v.unit),
        (("责任人", "owner"), lambda v: v.owner),
        (("时限", "due"), lambda v: v.due_date or ""),
        (("措施", "measures"), lambda v: f"{v.measures_done}/{v.measures_total}" if v.measures_total else ""),
        (("下一时限", "next due"), lambda v: v.next_measure_due or ""),
        (("状态", "state"), lambda v: v.state_label.get(lang)),
        (("灯", "light"), lambda v: light(v, lang)),
        (("再犯", "reopened"), lambda v: v.recurrence_count or ""),
    ]
    return columns(t, spec, views)


def _progress(v: IssueView) -> Text:
    return Progress(v.measures_done, v.measures_total, v.next_measure_due).text()


def issue_card(v: IssueView, actor_id: str, lang: str) -> str:
    """One issue: its fields, measures, evidence, sign-offs, mechanisms, and each step from
    here as ``actor_id`` may take it or why not."""
    t = _both(lang)
    fields: list[tuple[str, Any]] = [
        (t("状态", "state"), v.state_label.render(lang)),
        (t("类别", "category"), v.category_label.render(lang)),
        (t("严重程度", "severity"), v.severity_label.render(lang)),
        (t("问题来源", "source"), v.source_label.render(lang) if v.source_label else v.source or "-"),
        (t("公开", "disclosure"), t("不予公开", "exempt") if v.confidential else t("可公开", "public")),
        (t("责任部门", "unit"), v.unit),
        (t("责任人", "owner"), v.owner or "-"),
        (t("责任领导", "lead"), v.lead or "-"),
        (t("整改时限", "due"), v.due_date or "-"),
        (t("整改进度", "progress"), _progress(v).render(lang)),
        (t("红黄绿灯", "light"), light(v, lang) or "-"),
        (t("督办级别", "escalation level"), v.escalation_level),
        (t("轮次", "round"), v.round),
        (t("工作流", "workflow"), f"{v.workflow} v{v.workflow_version}"),
        (t("版本", "version"), v.version),
    ]
    if v.recurrence_count:
        fields.append((t("再犯次数", "recurrences"), v.recurrence_count))
    w = max(width(k) for k, _ in fields)
    lines = [f"{v.code}  {v.title}"] + [f"  {k}{' ' * (w - width(k))}  {val}" for k, val in fields]
    if v.measures:
        lines.append("\n" + t("整改措施", "measures"))
        lines.append(
            table(
                [
                    "#",
                    t("措施", "measure"),
                    t("责任人", "owner"),
                    t("时限", "due"),
                    t("量化目标", "target"),
                    t("完成", "done"),
                ],
                [
                    [m["no"], clip(m["text"], 30), m["owner"], m["due_date"], m["target"], "✓" if m["done"] else ""]
                    for m in v.measures
                ],
            )
        )
    if v.evidence:
        lines.append("\n" + t("佐证材料", "evidence"))
        lines += [f"  {e['uri']}  sha256:{e['sha256'][:12]}…  {e['note']}" for e in v.evidence]
    if v.signoffs:
        lines.append("\n" + t("签字确认", "sign-offs"))
        for s in v.signoffs:
            earlier = "" if s["current"] else "  " + t("以往环节", "earlier stage")
            lines.append(f"  {s['role']}: {s['actor']} @ {s['state']}{earlier}")
    if v.mechanisms:
        lines.append("\n" + t("长效机制", "long-term mechanisms"))
        lines += [f"  {m['title']} {m['reference']}" for m in v.mechanisms]
    if v.deadline_changes:
        lines.append("\n" + t(f"延期申请（已批准 {v.extensions} 次）", f"deadline changes ({v.extensions} approved)"))
        lines += [
            f"  {c['no']}. {c['from_due_date']} → {c['due_date']}  {c['status']}  {c['reason']}"
            for c in v.deadline_changes
        ]
    lines.append("\n" + t(f"下一步（以 {actor_id} 的身份）", f"next steps (as {actor_id})"))
    for tr in v.triggers:
        req = t(f"（需填写：{','.join(tr.requires)}）", f" (requires: {','.join(tr.requires)})") if tr.requires else ""
        lines.append(f"  {_mark(tr.available)} {tr.trigger} → {tr.dest}  [{','.join(tr.roles)}]{req}")
        lines += [f"      - [{rule}] {reason.render(lang)}" for rule, reason in tr.reasons]
    return "\n".join(lines)


def explanation(ex: Explanation, lang: str) -> str:
    """Why an issue can or cannot move: the period, the version, each check of each step."""
    t = _both(lang)
    period = (
        Text(f"集中整改期内（至 {ex.period_end}）", f"inside the concentrated period (to {ex.period_end})")
        if ex.today <= ex.period_end
        else Text(f"集中整改期已于 {ex.period_end} 结束", f"the concentrated period ended {ex.period_end}")
    )
    gone = Text("（已停用）", " (deprecated)") if ex.deprecated else Text("", "")
    version = f"{ex.workflow} v{ex.version}"
    roles = ", ".join(ex.roles) or "-"
    lines = [
        t(
            f"{ex.code}：{ex.state_label.zh}（{ex.state}）｜{version}{gone.zh}｜轮次 {ex.round}，{period.zh}｜今天 {ex.today}",
            f"{ex.code}: {ex.state_label.en} ({ex.state}) | {version}{gone.en} | round {ex.round}, {period.en} | today {ex.today}",
        ),
        t(f"操作人 {ex.actor}，角色：{roles}", f"acting: {ex.actor}, roles: {roles}"),
    ]
    lines += [click.style("! " + note.render(lang), fg="yellow") for note in ex.notes]
    if not ex.triggers and not ex.notes:
        lines.append(t("此状态下没有可执行的操作", "no step leaves this state"))
    for tr in ex.triggers:
        verdict = (
            click.style(t("可以执行", "can"), fg="green")
            if tr.available
            else click.style(t("不能执行", "cannot"), fg="red")
        )
        lines += ["", f"{tr.trigger}（{tr.label.get(lang)}）→ {tr.dest_label.get(lang)}: {verdict}"]
        lines += [f"  {_mark(chk.ok)} {chk.rule}: {chk.reason.get(lang)}" for chk in tr.checks]
    return "\n".join(lines)


def history(events: Sequence[Mapping[str, Any]], verified: ChainReport | None, lang: str) -> str:
    """Every event, oldest first; with ``verified``, the verdict on the hash chain."""
    t = _both(lang)
    spec: list[Column[Mapping[str, Any]]] = [
        ("#", lambda e: e["seq"]),
        (("时间", "at (local)"), lambda e: e["at_local"][:16].replace("T", " ")),
        (("动作", "action"), lambda e: e["trigger"] or e["kind"]),
        (("从", "from"), lambda e: e["from"]),
        (("到", "to"), lambda e: e["to"]),
        (("操作人", "actor"), lambda e: e["actor"]),
        (("角色", "role"), lambda e: e["role"]),
        (("说明", "comment"), lambda e: clip(e["comment"] or "", 20)),
        ("hash", lambda e: e["hash"][:10]),
    ]
    lines = [columns(t, spec, events)]
    if verified is not None and verified.ok:
        intact = t(f"哈希链完整：{verified.events} 条记录均已校验", f"chain intact: {verified.events} events verified")
        lines.append(click.style(intact, fg="green"))
    elif verified is not None:
        lines += [click.style(f"#{seq}: {reason.render(lang)}", fg="red") for seq, reason in verified.problems]
    return "\n".join(lines)


def verified_chains(rows: Sequence[tuple[str, int, bool]], lang: str) -> str:
    """The demo's check of every chain: code, events, intact (headers in one language)."""
    return table(
        [Text("编号", "code").get(lang), Text("记录数", "events").get(lang), Text("完整", "intact").get(lang)],
        [[code, events, "✓" if ok else "✗"] for code, events, ok in rows],
    )


# --- ledgers, statistics, reports --------------------------------------------------------


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def _stats_progress(st: Mapping[str, Any]) -> Text:
    m = st.get("measures") or {}
    due = m.get("next_due")
    return Progress(m.get("done", 0), m.get("total", 0), date.fromisoformat(due) if due else None).text()


def stats(st: Mapping[str, Any], round_code: str, by: str | None, lang: str) -> str:
    """A round's figures, the breakdown asked for, and the weekly burn-down of open items."""
    t = _both(lang)
    rows = [
        [t("问题总数", "issues"), st["total"]],
        [t("已销号", "closed"), st["closed"]],
        [t("整改完成率", "completion rate"), _pct(st["completion_rate"])],
        [t("立行立改完成率", "immediate items completed"), _pct(st["immediate_completion_rate"])],
        [t("逾期", "overdue"), st["overdue"]],
        [t("挂牌督办", "supervised"), st["supervised"]],
        [t("提级办理", "raised a level"), st["raised_a_level"]],
        [t("再犯次数", "recurrences"), st["recurrences"]],
        [t("延期次数", "deadline extensions"), st.get("extensions", 0)],
        [t("平均销号天数", "average days to close"), st.get("average_days_to_close", "-")],
        [t("整改措施进度", "measures"), _stats_progress(st).render(lang)],
        [t("红黄绿灯", "lights"), ", ".join(f"{k}:{v}" for k, v in st["lights"].items()) or "-"],
    ]
    lines = [
        t(
            f"轮次 {round_code}（截至 {st['as_of']}，集中整改期至 {st['period_end']}）",
            f"round {round_code} (as of {st['as_of']}, concentrated period ends {st['period_end']})",
        ),
        table([t("指标", "measure"), t("数值", "value")], rows),
    ]
    if "by" in st:
        heads = [
            by or "",
            t("总数", "total"),
            t("已销号", "closed"),
            t("完成率", "rate"),
            t("逾期", "overdue"),
            t("督办", "supervised"),
        ]
        groups = [
            [
                Text(**g["label"]).render(lang) if "label" in g else k,
                g["total"],
                g["closed"],
                _pct(g["completion_rate"]),
                g["overdue"],
                g["supervised"],
            ]
            for k, g in st["by"]["groups"].items()
        ]
        lines += ["", table(heads, groups)]
    burn_down = [[w["week_ending"], w["open"]] for w in st["burn_down"]]
    lines += ["", table([t("周末日期", "week ending"), t("未销号", "open")], burn_down)]
    return "\n".join(lines)


def report_draft(info: DraftInfo, lang: str) -> str:
    t = _both(lang)
    lines = [
        t(f"已生成报告初稿 {info.output}", f"wrote the draft {info.output}"),
        t(
            f"  问题 {info.problems} 个；图表 {len(info.charts)} 张",
            f"  {info.problems} problems; {len(info.charts)} charts",
        ),
    ]
    if info.withheld:
        lines.append(
            t(
                f"  公开版未列出 {info.withheld} 个不予公开的问题",
                f"  {info.withheld} exempt problems left out of the public version",
            )
        )
    if not info.period_over:
        lines.append(
            t(
                "  集中整改期尚未结束：首页已注明为草稿",
                "  the concentrated period has not ended: the first page says it is a draft",
            )
        )
    return "\n".join(lines)


# --- operations --------------------------------------------------------------------------


def sweep(rep: SweepReport, dry_run: bool, lang: str) -> str:
    t = _both(lang)
    zh, en = ("预演（未做任何修改）", "dry run (nothing changed)") if dry_run else ("已执行", "applied")
    lines = [
        t(
            f"{zh}：检查 {rep.checked} 个到期问题，触发 {len(rep.fired)} 条规则",
            f"{en}: {rep.checked} issues due for a check, {len(rep.fired)} rules fired",
        )
    ]
    if rep.fired:
        spec: list[Column[Mapping[str, Any]]] = [
            (("编号", "code"), lambda f: f["issue"]),
            (("规则", "rule"), lambda f: f["rule"]),
            (("动作", "action"), lambda f: f["action"]),
            (("结果", "outcome"), lambda f: f["outcome"]),
            (("最后期限", "final deadline"), lambda f: f.get("new_deadline", "")),
        ]
        lines.append(columns(t, spec, rep.fired))
    return "\n".join(lines)


def outbox(rows: Sequence[Mapping[str, Any]], lang: str) -> str:
    spec: list[Column[Mapping[str, Any]]] = [
        ("id", lambda r: r["id"]),
        (("问题", "issue"), lambda r: r["issue"]),
        (("规则", "rule"), lambda r: r["rule"]),
        (("渠道", "channel"), lambda r: r["channel"]),
        (("收件人", "to"), lambda r: r["recipient"].get("user") or r["recipient"].get("role")),
        (("状态", "status"), lambda r: r["status"]),
        (("次数", "tries"), lambda r: r["attempts"]),
        (("错误", "error"), lambda r: clip(r["last_error"] or "", 30)),
    ]
    return columns(_both(lang), spec, rows)


def audit(rep: AuditReport, lang: str, unsealed: Sequence[str] = ()) -> str:
    """The verdict of a whole-database audit; when it failed, each finding (the summary line
    goes to standard error: :func:`audit_failed`); ``unsealed`` names API clients whose grant
    does not verify."""
    t = _both(lang)
    if rep.ok and not unsealed:
        return click.style(
            t(
                f"审计通过：{rep.issues} 个问题、{rep.events} 条历史记录的哈希链与记录均完整（{rep.seconds:.1f} 秒）",
                f"audit passed: {rep.issues} issues and {rep.events} events, every chain and record intact "
                f"({rep.seconds:.1f} s)",
            ),
            fg="green",
        )
    lines = []
    for f in rep.findings():
        where = f["issue"] or t("（无此问题）", "(no issue)")
        row = f"#{f['seq']}" + (f" (event id {f['event_id']})" if f["event_id"] is not None else "")
        lines.append(click.style(f"{where} {row}: {f['reason'].render(lang)}", fg="red"))
    for name in unsealed:
        lines.append(
            click.style(
                t(
                    f"接入系统 {name}：授权未通过校验（被绕过 zhenggai 修改，或在封存之前创建）",
                    f"client {name}: its grant does not verify (changed outside zhenggai, or made before grants were sealed)",
                ),
                fg="red",
            )
        )
    return "\n".join(lines)


def audit_failed(rep: AuditReport, lang: str, unsealed: Sequence[str] = ()) -> str:
    t = _both(lang)
    extra = ""
    if rep.bad_workflows or unsealed:
        extra = t(
            f"，{len(rep.bad_workflows)} 个工作流版本被改写，{len(unsealed)} 个接入系统的授权未通过校验",
            f", {len(rep.bad_workflows)} workflow versions rewritten, {len(unsealed)} client grants that do not verify",
        )
    return click.style(
        t(
            f"审计未通过：{len(rep.bad)} 个问题的历史或记录有误，{rep.orphan_events} 条记录指向不存在的问题{extra}"
            f"（共检查 {rep.issues} 个问题、{rep.events} 条记录）",
            f"audit failed: {len(rep.bad)} issues with a broken history or records, {rep.orphan_events} "
            f"events pointing to no issue{extra} ({rep.issues} issues and {rep.events} events checked)",
        ),
        fg="red",
    )


def clients(rows: Sequence[Client], lang: str) -> str:
    t = _both(lang)
    spec: list[Column[Client]] = [
        (("名称", "name"), lambda r: r.name),
        (("角色", "roles"), lambda r: ", ".join(sorted(r.roles))),
        (("组织范围", "scopes"), lambda r: ", ".join(r.scopes)),
        (("状态", "status"), lambda r: t("已吊销", "revoked") if r.revoked_at else t("有效", "active")),
    ]
    return columns(t, spec, rows)
