"""``zhenggai issue`` and what is recorded on an issue: measures, evidence, sign-offs,
mechanisms; firing a trigger, asking why (``explain``), and the issue's history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..engine.errors import HistoryTampered
from ..i18n import Text
from . import render
from .context import Ctx, actor_options, json_flag, make_actor, out, pass_ctx

if TYPE_CHECKING:
    from ..engine.actors import Actor


@click.group()
def issue() -> None:
    """Problems on a round's list (问题): add, list, show."""


@issue.command("add")
@click.argument("round_code", metavar="ROUND")
@click.argument("code")
@click.option("--title", required=True, help="The problem as the list states it / 问题")
@click.option("--category", required=True, help="immediate|phased|long_term|constrained|systemic / 问题类别")
@click.option("--unit", required=True, help="Responsible unit as an org path / 责任部门, e.g. 省税务局/稽查局")
@click.option("--owner", required=True, help="Named owner (user id) / 责任人")
@click.option("--lead", required=True, help="Responsible leader (user id) / 责任领导")
@click.option("--due", "due_date", help="Deadline / 整改时限 (YYYY-MM-DD)")
@click.option("--severity", default="normal", show_default=True)
@click.option("--description", default="")
@click.option("--source", help="Where it was found / 问题来源 (default: the round's source), e.g. audit")
@click.option("--confidential", is_flag=True, help="Exempt from public disclosure / 不予公开")
@click.option("--workflow", help="Follow another workflow than the round's, e.g. audit / 适用的工作流")
@actor_options(("inspection_office",))
@json_flag
@pass_ctx
def issue_add(
    c: Ctx,
    round_code: str,
    code: str,
    title: str,
    category: str,
    unit: str,
    owner: str | None,
    lead: str | None,
    due_date: str | None,
    severity: str,
    description: str,
    source: str | None,
    confidential: bool,
    workflow: str | None,
    actor: Actor,
) -> None:
    """Add a problem to a round / 录入问题。"""
    v = c.engine().add_issue(
        round_code,
        code,
        title=title,
        category=category,
        unit=unit,
        owner=owner,
        lead=lead,
        due_date=due_date,
        severity=severity,
        description=description,
        source=source,
        confidential=confidential,
        workflow=workflow,
        actor=actor,
    )
    out(c, v.to_dict(), c.t(f"已录入问题 {v.code}（{v.state_label.zh}）", f"added issue {v.code} ({v.state_label.en})"))


@issue.command("list")
@click.option("--round", "round_code", help="Only this round / 轮次")
@click.option("--state", "states", multiple=True, help="Only these states, repeatable / 状态")
@click.option("--category", "categories", multiple=True, help="Only these categories / 类别")
@click.option("--owner", help="Only this owner / 责任人")
@click.option("--light", "lights", multiple=True, help="Only this traffic light, e.g. red / 红黄绿灯")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@actor_options(("admin",))
@json_flag
@pass_ctx
def issue_list(
    c: Ctx,
    round_code: str | None,
    states: tuple[str, ...],
    categories: tuple[str, ...],
    owner: str | None,
    lights: tuple[str, ...],
    limit: int,
    offset: int,
    actor: Actor,
) -> None:
    """Issues inside your scope, filtered / 问题列表。"""
    eng = c.engine()
    vs = eng.issues(
        actor,
        round_code=round_code,
        states=states or None,
        categories=categories or None,
        owner=owner,
        lights=lights or None,
        limit=limit,
        offset=offset,
    )
    out(c, [v.to_dict() for v in vs], lambda: render.ledger(vs, c.lang, eng.workflow))


@issue.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--round", "round_code", required=True, help="The round the list belongs to / 轮次")
@click.option("--dry-run", is_flag=True, help="Check and show what would be created / 只检查不写入")
@click.option("--encoding", help="CSV encoding if not UTF-8 or GBK (e.g. gb18030, big5)")
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="HEADER=FIELD",
    help="Map one of the file's headers to a field (title, category, measures, unit, owner, lead, due_date, ...)",
)
@click.option("--workflow", help="The problems follow this workflow, not the round's (e.g. audit) / 适用的工作流")
@click.option(
    "--category",
    help="Category of every row that names none, e.g. phased (default: the workflow's) / 未列类别时的问题类别",
)
@actor_options(("inspection_office",))
@json_flag
@pass_ctx
def issue_import(
    c: Ctx,
    file: Path,
    round_code: str,
    dry_run: bool,
    encoding: str | None,
    maps: tuple[str, ...],
    workflow: str | None,
    category: str | None,
    actor: Actor,
) -> None:
    """Import a problem list (CSV or XLSX, Chinese headers), all or nothing / 导入问题清单。"""
    mapping = {}
    for m in maps:
        if "=" not in m:
            raise click.BadParameter(f"{m!r} 应写作 表头=字段 / must be HEADER=FIELD", param_hint="--map")
        own, fld = m.split("=", 1)
        mapping[own.strip()] = fld.strip()
    rep = c.engine().import_issues(
        round_code,
        file,
        actor=actor,
        dry_run=dry_run,
        encoding=encoding,
        mapping=mapping,
        workflow=workflow,
        category=category,
    )
    verb = Text("将新建", "would create") if dry_run else Text("已新建", "created")
    out(
        c,
        rep.to_dict(),
        c.t(
            f"{verb.zh} {len(rep.created)} 个问题，已存在 {len(rep.existing)} 个",
            f"{verb.en} {len(rep.created)} issues, {len(rep.existing)} already present",
        ),
    )


@issue.command("assign")
@click.argument("code")
@click.option("--owner", help="The new owner (user id) / 新责任人")
@click.option("--lead", help="The new responsible leader (user id) / 新责任领导")
@click.option("--comment", help="Why / 说明")
@actor_options(("inspection_office",))
@json_flag
@pass_ctx
def issue_assign(c: Ctx, code: str, owner: str | None, lead: str | None, comment: str | None, actor: Actor) -> None:
    """Hand an issue to another owner or leader / 调整责任人或责任领导。"""
    c.engine().assign(code, owner=owner, lead=lead, comment=comment, actor=actor)
    out(c, {"issue": code, "owner": owner, "lead": lead}, c.t(f"问题 {code} 已调整责任人", f"{code} reassigned"))


@issue.command("correct")
@click.argument("code")
@click.option("--confidential/--public", default=None, help="Exempt from the public report, or not / 不予公开或予以公开")
@click.option("--source", help="Where the problem was found / 问题来源")
@click.option("--reason", required=True, help="Why the record was wrong / 更正理由")
@actor_options(("inspection_office",))
@json_flag
@pass_ctx
def issue_correct(
    c: Ctx, code: str, confidential: bool | None, source: str | None, reason: str, actor: Actor
) -> None:
    """Correct how a problem was recorded: disclosure and source, on the chain / 更正公开属性或问题来源。"""
    changed = c.engine().correct_issue(code, confidential=confidential, source=source, reason=reason, actor=actor)
    words = "，".join(f"{k}：{v['from']} → {v['to']}" for k, v in changed.items())
    out(c, {"issue": code, "changed": changed}, c.t(f"问题 {code} 已更正（{words}）", f"{code} corrected ({words})"))


@issue.command("show")
@click.argument("code")
@actor_options(("admin",))
@json_flag
@pass_ctx
def issue_show(c: Ctx, code: str, actor: Actor) -> None:
    """One issue: measures, evidence, sign-offs, and what can happen next / 问题详情。"""
    v = c.engine().issue(code, actor)
    out(c, v.to_dict(), lambda: render.issue_card(v, actor.id, c.lang))


# --- what is recorded on an issue ----------------------------------------------------------


@click.group()
def measure() -> None:
    """Rectification measures (整改措施): add, done."""


@measure.command("add")
@click.argument("code")
@click.argument("text")
@click.option("--owner", help="Who carries it out / 责任人")
@click.option("--due", "due_date", help="Deadline / 完成时限 (YYYY-MM-DD)")
@click.option("--target", help="Quantified target / 量化目标")
@actor_options(("owner",))
@json_flag
@pass_ctx
def measure_add(
    c: Ctx, code: str, text: str, owner: str | None, due_date: str | None, target: str | None, actor: Actor
) -> None:
    """Add a measure to an issue / 添加整改措施。"""
    no = c.engine().add_measure(code, text, owner=owner, due_date=due_date, target=target, actor=actor)
    out(c, {"issue": code, "no": no}, c.t(f"问题 {code} 已添加措施 {no}", f"added measure {no} to {code}"))


@measure.command("done")
@click.argument("code")
@click.argument("no", type=int)
@click.option("--comment")
@actor_options(("owner",))
@json_flag
@pass_ctx
def measure_done(c: Ctx, code: str, no: int, comment: str | None, actor: Actor) -> None:
    """Mark a measure done / 措施完成。"""
    c.engine().complete_measure(code, no, comment=comment, actor=actor)
    out(
        c,
        {"issue": code, "no": no, "done": True},
        c.t(f"问题 {code} 措施 {no} 已完成", f"measure {no} of {code} is done"),
    )


@click.group()
def evidence() -> None:
    """Supporting evidence (佐证材料), kept by URI and sha256."""


@evidence.command("add")
@click.argument("code")
@click.argument("uri")
@click.option("--sha256", required=True, help="sha256 of the file the OA system keeps")
@click.option("--note", default="")
@click.option("--measure", "measure_no", type=int, help="The measure it supports")
@actor_options(("owner",))
@json_flag
@pass_ctx
def evidence_add(c: Ctx, code: str, uri: str, sha256: str, note: str, measure_no: int | None, actor: Actor) -> None:
    """Attach evidence to an issue / 上传佐证材料（登记地址与哈希）。"""
    c.engine().add_evidence(code, uri, sha256, note=note, measure_no=measure_no, actor=actor)
    out(c, {"issue": code, "uri": uri}, c.t(f"问题 {code} 已登记佐证材料", f"evidence attached to {code}"))


@click.command("signoff")
@click.argument("code")
@click.option("--role", "role", required=True, help="The role you sign for / 签字角色")
@click.option("--as", "user", required=True, help="Who signs / 签字人")
@click.option("--scope", "scopes", multiple=True)
@click.option("--comment")
@json_flag
@pass_ctx
def signoff(c: Ctx, code: str, role: str, user: str, scopes: tuple[str, ...], comment: str | None) -> None:
    """Sign off an issue at its current stage / 签字确认。"""
    c.engine().sign_off(code, role, comment=comment, actor=make_actor(user, (role,), scopes))
    out(
        c,
        {"issue": code, "role": role, "by": user},
        c.t(f"{user} 已以 {role} 身份签字确认 {code}", f"{user} signed off {code} as {role}"),
    )


@click.group()
def mechanism() -> None:
    """Long-term mechanisms (长效机制, 建章立制)."""


@mechanism.command("add")
@click.argument("code")
@click.argument("title")
@click.option("--reference", default="", help="Document number / 文号")
@click.option("--adopted-on", help="YYYY-MM-DD")
@actor_options(("owner",))
@json_flag
@pass_ctx
def mechanism_add(c: Ctx, code: str, title: str, reference: str, adopted_on: str | None, actor: Actor) -> None:
    """Record a rule or institution adopted / 登记长效机制。"""
    c.engine().add_mechanism(code, title, reference=reference, adopted_on=adopted_on, actor=actor)
    out(c, {"issue": code, "title": title}, c.t(f"问题 {code} 已登记长效机制", f"mechanism recorded for {code}"))


# --- moving an issue, and why it can or cannot move --------------------------------------


@click.command("fire")
@click.argument("code")
@click.argument("trigger")
@click.option("--as", "user", required=True, help="Acting user id / 操作人")
@click.option("--role", "role", required=True, help="Role acted in / 角色")
@click.option("--scope", "scopes", multiple=True, help="Org scope, repeatable (default: all)")
@click.option("--comment", help="Why (required by some triggers) / 说明")
@click.option("--request-id", help="Idempotency key: a retry with the same id changes nothing more")
@click.option("--expected-version", type=int, help="Refuse if the issue is no longer at this version")
@json_flag
@pass_ctx
def fire(
    c: Ctx,
    code: str,
    trigger: str,
    user: str,
    role: str,
    scopes: tuple[str, ...],
    comment: str | None,
    request_id: str | None,
    expected_version: int | None,
) -> None:
    """Fire a trigger on an issue (plan, start, submit_self_check, review, close …) / 执行操作。"""
    from ..engine.actors import SYSTEM

    eng = c.engine()
    r = eng.fire(
        code,
        trigger,
        actor=make_actor(user, (role,), scopes),
        role=role,
        comment=comment,
        request_id=request_id,
        expected_version=expected_version,
    )
    v = eng.issue(code, SYSTEM)
    d = eng.workflow(v.workflow, v.workflow_version)
    replay = c.t("（重复请求，未再次执行）", " (a repeated request: nothing more was done)") if r.replayed else ""
    out(c, r.to_dict(), f"{code}: {d.label(r.source).render(c.lang)} → {d.label(r.dest).render(c.lang)}{replay}")


@click.command("explain")
@click.argument("code")
@click.argument("trigger", required=False)
@actor_options(("admin",))
@json_flag
@pass_ctx
def explain(c: Ctx, code: str, trigger: str | None, actor: Actor) -> None:
    """Why an issue can or cannot move: each role, guard, the period, the version / 为什么能或不能办理。

    \b
      zhenggai explain P1                         every step possible from here
      zhenggai explain P1 start --as li --role owner
    """
    ex = c.engine().explain(code, trigger, actor=actor)
    out(c, ex.to_dict(), lambda: render.explanation(ex, c.lang))


@click.command("history")
@click.argument("code")
@click.option("--verify", is_flag=True, help="Recompute the hash chain / 校验哈希链")
@actor_options(("admin",))
@json_flag
@pass_ctx
def history(c: Ctx, code: str, verify: bool, actor: Actor) -> None:
    """Every action on an issue, oldest first / 操作历史。"""
    eng = c.engine()
    evs = eng.history(code, actor)
    rep = eng.verify(code, actor) if verify else None
    data: dict[str, Any] = {"issue": code, "events": evs}
    if rep is not None:
        data["verify"] = rep.to_dict()
    out(c, data, lambda: render.history(evs, rep, c.lang))
    if rep is not None and not rep.ok:
        click.get_current_context().exit(HistoryTampered.exit_code)


COMMANDS = (issue, measure, evidence, signoff, mechanism, fire, explain, history)
