"""``zhenggai workflow``: validate, deploy, list, show, diff, migrate, deprecate, guards."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import render
from .context import Ctx, actor_options, json_flag, make_actor, out, pass_ctx

if TYPE_CHECKING:
    from ..engine.actors import Actor
    from ..engine.definition import WorkflowDefinition
    from ..engine.service import Engine


@click.group()
def workflow() -> None:
    """Workflow definitions: validate, deploy, list, show / 工作流定义。"""


@workflow.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_flag
@pass_ctx
def workflow_validate(c: Ctx, file: Path) -> None:
    """Check a workflow YAML file and report every error with its line / 校验工作流文件。"""
    from ..engine.definition import load_definition

    d = load_definition(file)
    out(
        c,
        {"ok": True, "name": d.name, "version": d.version, "states": list(d.states), "triggers": d.triggers()},
        c.t(
            f"{file}：有效（{d.name} 第 {d.version} 版，{len(d.states)} 个状态，{len(d.transitions)} 个转换）",
            f"{file}: valid ({d.name} v{d.version}, {len(d.states)} states, {len(d.transitions)} transitions)",
        ),
    )


@workflow.command("deploy")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--as", "user", default="admin", show_default=True, help="Who deploys / 部署人")
@json_flag
@pass_ctx
def workflow_deploy(c: Ctx, file: Path, user: str) -> None:
    """Validate and deploy a workflow version / 部署工作流。"""
    eng = c.engine()
    info = eng.deploy_workflow(file, actor=make_actor(user, ("admin",), ()))
    msg = (
        c.t(f"已部署 {info.name} 第 {info.version} 版", f"deployed {info.name} version {info.version}")
        if info.created
        else c.t(
            f"{info.name} 第 {info.version} 版已是相同内容，未改动",
            f"{info.name} version {info.version} is already deployed",
        )
    )
    out(c, info.to_dict(), msg)


@workflow.command("list")
@json_flag
@pass_ctx
def workflow_list(c: Ctx) -> None:
    """Deployed workflows and their versions / 已部署的工作流。"""
    infos = c.engine().workflows()
    out(c, [i.to_dict() for i in infos], lambda: render.workflow_list(infos, c.lang))


@workflow.command("show")
@click.argument("name", default="rectification")
@click.option("--version", "version", type=int, help="Version (default: newest) / 版本")
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid", "yaml"]), default="text", show_default=True)
@json_flag
@pass_ctx
def workflow_show(c: Ctx, name: str, version: int | None, fmt: str) -> None:
    """Show a deployed workflow; --format mermaid draws it / 查看工作流（mermaid 可画图）。"""
    from ..engine.diagram import describe, mermaid

    d = c.engine().workflow(name, version)
    if c.json:
        out(c, describe(d), "")
    elif fmt == "mermaid":
        click.echo(mermaid(d, c.lang))
    elif fmt == "yaml":
        click.echo(d.source)
    else:
        click.echo(render.workflow(d, c.lang))


def _definition_arg(eng: Engine, spec: str) -> WorkflowDefinition:
    """``NAME@VERSION`` (or ``NAME:VERSION``) of a deployed workflow, or a YAML file."""
    from ..engine.definition import load_definition

    m = re.fullmatch(r"([A-Za-z0-9_.-]+)[@:](\d{1,7})", spec)
    if m:
        return eng.workflow(m.group(1), int(m.group(2)))
    path = Path(spec)
    if not path.is_file():
        raise click.BadParameter(
            f"{spec!r} 既不是 名称@版本 也不是文件 / is neither NAME@VERSION nor a file", param_hint="A / B"
        )
    return load_definition(path)


@workflow.command("diff")
@click.argument("a")
@click.argument("b")
@json_flag
@pass_ctx
def workflow_diff(c: Ctx, a: str, b: str) -> None:
    """What changed from A to B: states, transitions, guards, escalation rules / 比较两个版本。

    \b
    A and B are deployed versions (rectification@2) or YAML files:
      zhenggai workflow diff rectification@2 rectification@3
      zhenggai workflow diff rectification@2 ./rectification-v3.yaml
    """
    from ..engine.diff import diff

    eng = c.engine()
    left, right = _definition_arg(eng, a), _definition_arg(eng, b)
    changes = diff(left, right)
    out(
        c,
        {
            "from": f"{left.name}@{left.version}",
            "to": f"{right.name}@{right.version}",
            "changes": [ch.to_dict() for ch in changes],
        },
        lambda: render.workflow_diff(left, right, changes, c.lang),
    )


@workflow.command("migrate")
@click.argument("name")
@click.option("--from", "from_version", type=int, required=True, help="The version issues are on / 原版本")
@click.option("--to", "to_version", type=int, required=True, help="The version to move them to / 目标版本")
@click.option(
    "--map", "maps", multiple=True, metavar="OLD=NEW", help="Where a state of the old version goes, repeatable"
)
@click.option(
    "--where",
    "wheres",
    multiple=True,
    metavar="KEY=VALUE",
    help="Only issues with round=, state=, category= or unit= (an org path and below), repeatable",
)
@click.option("--dry-run", is_flag=True, help="Show what would move; change nothing / 只检查不迁移")
@actor_options(("admin",))
@json_flag
@pass_ctx
def workflow_migrate(
    c: Ctx,
    name: str,
    from_version: int,
    to_version: int,
    maps: tuple[str, ...],
    wheres: tuple[str, ...],
    dry_run: bool,
    actor: Actor,
) -> None:
    """Move running issues onto another version, all or nothing / 迁移在办问题到新版本。

    \b
    Each moved issue gets a "migrated" event on its history; closed issues stay.  Refused,
    with every reason, when a state has no place in the new version:
      zhenggai workflow migrate rectification --from 2 --to 3 --dry-run
      zhenggai workflow migrate rectification --from 2 --to 3 --map self_checked=awaiting_review
    """
    where: dict[str, list[str]] = {}
    for w in wheres:
        key, sep, value = w.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise click.BadParameter(f"{w!r} 应写作 键=值 / must be KEY=VALUE", param_hint="--where")
        where.setdefault(key.strip(), []).append(value.strip())
    rep = c.engine().migrate_workflow(
        name, from_version, to_version, actor=actor, mapping=maps, where=where, dry_run=dry_run
    )
    out(c, rep.to_dict(), lambda: render.migration(rep, name, from_version, to_version, dry_run, c.lang))


@workflow.command("deprecate")
@click.argument("name")
@click.argument("version", type=int)
@click.option("--undo", is_flag=True, help="Make the version usable again / 恢复使用")
@click.option("--force", is_flag=True, help="Even if it is the last usable version / 即使是唯一可用版本")
@actor_options(("admin",))
@json_flag
@pass_ctx
def workflow_deprecate(c: Ctx, name: str, version: int, undo: bool, force: bool, actor: Actor) -> None:
    """Stop new rounds and issues from using a version; running issues keep it / 停用版本。"""
    eng = c.engine()
    info = eng.deprecate_workflow(name, version, actor=actor, deprecated=not undo, force=force)
    usage = eng.workflow_usage(name, version)
    msg = (
        c.t(
            f"{name} 第 {version} 版已停用；仍有 {usage['running']} 个在办问题按此版办理（可用 workflow migrate 迁移）",
            f"{name} v{version} is deprecated; {usage['running']} running issues still follow it (workflow migrate moves them)",
        )
        if info.deprecated
        else c.t(f"{name} 第 {version} 版已恢复使用", f"{name} v{version} is usable again")
    )
    out(c, {**info.to_dict(), "in_use": usage}, msg)


@workflow.command("guards")
@json_flag
@pass_ctx
def workflow_guards(c: Ctx) -> None:
    """The guards a workflow may name / 可用的守卫。"""
    from ..engine.guards import describe_guards

    g = describe_guards()
    out(c, g, lambda: render.guards(g, c.lang))


COMMANDS = (workflow,)
