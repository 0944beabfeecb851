"""The ``zhenggai`` command line: parse, call the Engine, print (a table, or ``--json``).

No rule lives here; every check is the Engine's.  Heavy imports happen inside commands so that
``zhenggai --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from .i18n import Text, current_lang

if TYPE_CHECKING:
    from .engine.actors import Actor
    from .engine.service import Engine

EXIT_CODES = {
    "invalid_input": 2,
    "workflow_invalid": 2,
    "refused": 3,
    "not_found": 4,
    "forbidden": 5,
    "concurrent_update": 6,
    "not_initialised": 7,
    "history_tampered": 8,
    "busy": 6,
    "storage_unavailable": 9,
    "unavailable": 10,
}

#: engine field names as the flags a CLI user typed them
FLAGS = {
    "due_date": "--due",
    "period_months": "--months",
    "period_end": "--period-end",
    "feedback_date": "--feedback-date",
    "adopted_on": "--adopted-on",
    "request_id": "--request-id",
    "no": "NO",
    "code": "CODE",
    "uri": "URI",
    "text": "TEXT",
    "path": "PATH",
}


@dataclass
class Ctx:
    db: str | None
    lang: str
    json: bool
    as_of: str | None

    def t(self, zh: str, en: str) -> str:
        return Text(zh, en).render(self.lang)

    def engine(self, *, check_schema: bool = True) -> Engine:
        from .engine.clock import FixedClock
        from .engine.service import Engine
        from .storage.database import resolve_url

        url = resolve_url(self.db)
        if check_schema and url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            fail(
                self,
                "not_initialised",
                Text(
                    f"数据库文件不存在（{url}）：请先运行 zhenggai init",
                    f"no database file at {url}: run zhenggai init first",
                ),
            )
        try:
            eng = Engine(url, clock=FixedClock(self.as_of) if self.as_of else None)
        except (ValueError, ArgumentError, NoSuchModuleError) as exc:
            fail(
                self,
                "invalid_input",
                Text(f"数据库地址不可用：{exc}", f"the database URL is not usable: {exc}"),
                {"field": "db"},
            )
        _with_notifiers(self, eng)
        if check_schema:
            try:
                cur, head = eng.db.current_revision(), eng.db.head_revision()
            except SQLAlchemyError as exc:
                fail(
                    self,
                    "storage_unavailable",
                    Text(f"无法连接数据库：{exc.orig or exc}", f"cannot reach the database: {exc.orig or exc}"),
                )
            if cur != head:
                what = (
                    Text("数据库尚未初始化", "the database is not initialised")
                    if cur is None
                    else Text(f"数据库结构版本 {cur} 落后于 {head}", f"the schema is at {cur}, behind {head}")
                )
                fail(
                    self,
                    "not_initialised",
                    Text(
                        f"{what.zh}（{eng.db.url}）：请先运行 zhenggai init",
                        f"{what.en} ({eng.db.url}): run zhenggai init first",
                    ),
                )
        return eng


def fail(c: Ctx, code: str, text: Text, extra: dict[str, Any] | None = None) -> NoReturn:
    field = (extra or {}).get("field")
    if field and not c.json:
        flag = FLAGS.get(field, "--" + field.replace("_", "-"))
        text = Text(f"{text.zh}（{flag}）", f"{text.en} ({flag})")
    if c.json:
        click.echo(
            json.dumps({"error": {"code": code, "message": text.to_dict(), **(extra or {})}}, ensure_ascii=False)
        )
    else:
        click.echo(click.style(text.render(c.lang), fg="red"), err=True)
    sys.exit(EXIT_CODES.get(code, 1))


def run(c: Ctx, fn: Callable[[], Any]) -> Any:
    """Call the engine; turn its refusals into a message and an exit code."""
    from .engine.errors import ImportInvalid, Refused, WorkflowInvalid, ZhenggaiError

    try:
        return fn()
    except WorkflowInvalid as exc:
        if c.json:
            click.echo(
                json.dumps(
                    {"error": {"code": "workflow_invalid", "problems": [p.to_dict() for p in exc.problems]}},
                    ensure_ascii=False,
                )
            )
        else:
            click.echo(
                click.style(
                    c.t(
                        f"工作流定义有 {len(exc.problems)} 处错误：",
                        f"the workflow has {len(exc.problems)} error{'s' if len(exc.problems) != 1 else ''}:",
                    ),
                    fg="red",
                ),
                err=True,
            )
            for p in exc.problems:
                click.echo("  " + p.render(c.lang), err=True)
        sys.exit(EXIT_CODES["workflow_invalid"])
    except (Refused, ImportInvalid) as exc:  # errors that list every reason
        if c.json:
            click.echo(json.dumps({"error": exc.to_dict()}, ensure_ascii=False))
        else:
            click.echo(click.style(exc.render(c.lang), fg="red"), err=True)
        sys.exit(EXIT_CODES["refused" if isinstance(exc, Refused) else "invalid_input"])
    except ZhenggaiError as exc:
        fail(c, exc.code, exc.text, exc.details)
    except SQLAlchemyError as exc:  # anything the engine did not foresee: a message, not a traceback
        fail(c, "storage_error", Text(f"数据库错误：{exc}", f"database error: {exc}"))


def out(c: Ctx, data: Any, text: Callable[[], None] | str) -> None:
    if c.json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif callable(text):
        text()
    else:
        click.echo(text)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


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


def json_flag(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--json`` accepted after any command, as well as before it."""

    def set_json(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            ctx.find_object(Ctx).json = True  # type: ignore[union-attr]

    return click.option(
        "--json",
        "json_",
        is_flag=True,
        expose_value=False,
        callback=set_json,
        help="Machine-readable JSON output / 输出 JSON",
    )(f)


def actor_options(default_roles: tuple[str, ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--as USER --role ROLE --scope PATH`` collected into one ``actor`` argument."""

    def store(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
        def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
            ctx.meta.setdefault("zhenggai.actor", {})[key] = value

        return callback

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def with_actor(*args: Any, **kwargs: Any) -> Any:
            parts = click.get_current_context().meta.get("zhenggai.actor", {})
            roles = parts.get("roles") or default_roles
            kwargs["actor"] = make_actor(parts.get("user", "admin"), roles, parts.get("scopes") or ())
            return f(*args, **kwargs)

        opts = [
            click.option(
                "--as",
                "user",
                default="admin",
                show_default=True,
                expose_value=False,
                callback=store("user"),
                help="Acting user id / 操作人",
            ),
            click.option(
                "--role",
                "roles",
                multiple=True,
                expose_value=False,
                callback=store("roles"),
                help="Role acted in, repeatable"
                + (f" (default: {', '.join(default_roles)})" if default_roles else "")
                + " / 角色",
            ),
            click.option(
                "--scope",
                "scopes",
                multiple=True,
                expose_value=False,
                callback=store("scopes"),
                help="Org unit the actor may act on, repeatable (default: all) / 组织范围",
            ),
        ]
        for opt in reversed(opts):
            with_actor = opt(with_actor)
        return with_actor

    return deco


def make_actor(user: str, roles: Sequence[str], scopes: Sequence[str]) -> Actor:
    from .engine.actors import ALL_ORGS, Actor

    try:
        return Actor(user, frozenset(roles), tuple(scopes) or (ALL_ORGS,))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as / --role / --scope") from None


def _check_as_of(value: str | None) -> str | None:
    if value is None:
        return None
    from .engine.clock import to_utc

    try:
        to_utc(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} 不是日期或时间（YYYY-MM-DD[THH:MM]） / is not a date or time (YYYY-MM-DD[THH:MM])",
            param_hint="--as-of",
        ) from None
    return value


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", envvar="ZHENGGAI_DB", help="Database URL or SQLite path (default ./zhenggai.db) / 数据库")
@click.option(
    "--lang",
    envvar="ZHENGGAI_LANG",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="Language shown first (default zh) / 显示语言",
)
@click.option("--json", "json_", is_flag=True, help="Machine-readable JSON output / 输出 JSON")
@click.option(
    "--as-of",
    callback=lambda ctx, p, v: _check_as_of(v),
    help="Act as if it were this date or time (YYYY-MM-DD) / 按指定日期运行",
)
@click.version_option(package_name="zhenggai")
@click.pass_context
def main(ctx: click.Context, db: str | None, lang: str | None, json_: bool, as_of: str | None) -> None:
    """zhenggai（整改）: track every problem an inspection, audit or special check finds until it
    is closed (销号).

    \b
    Start here / 快速开始:
      zhenggai demo                      a story from identified to closed / 演示
      zhenggai init                      create or upgrade ./zhenggai.db / 初始化
      zhenggai round open R1 --title ... --org ... --feedback-date 2026-03-10 --role inspection_office
      zhenggai issue add R1 P1 --title ... --category immediate --unit ... --role inspection_office
      zhenggai fire P1 plan --as li --role owner
    """
    ctx.obj = Ctx(db=db, lang=current_lang(lang), json=json_, as_of=as_of)


@main.command()
@json_flag
@pass_ctx
def init(c: Ctx) -> None:
    """Create or upgrade the schema and deploy the shipped workflow / 初始化或升级数据库。"""
    eng = c.engine(check_schema=False)
    rev = run(c, eng.init)
    out(
        c,
        {"url": eng.db.url, "revision": rev},
        c.t(f"数据库已就绪：{eng.db.url}（结构版本 {rev}）", f"database ready: {eng.db.url} (schema {rev})"),
    )


# --- workflow --------------------------------------------------------------------------


@main.group()
def workflow() -> None:
    """Workflow definitions: validate, deploy, list, show / 工作流定义。"""


@workflow.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_flag
@pass_ctx
def workflow_validate(c: Ctx, file: Path) -> None:
    """Check a workflow YAML file and report every error with its line / 校验工作流文件。"""
    from .engine.definition import load_definition

    d = run(c, lambda: load_definition(file))
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
    info = run(c, lambda: eng.deploy_workflow(file, actor=make_actor(user, ("admin",), ())))
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
    eng = c.engine()
    infos = run(c, eng.workflows)
    out(
        c,
        [i.to_dict() for i in infos],
        lambda: click.echo(
            table(
                [
                    c.t("名称", "name"),
                    c.t("版本", "version"),
                    c.t("部署时间", "deployed"),
                    c.t("部署人", "by"),
                    "sha256",
                    c.t("状态", "status"),
                ],
                [
                    [
                        i.name,
                        i.version,
                        i.deployed_at.strftime("%Y-%m-%d %H:%M"),
                        i.deployed_by,
                        i.digest[:12],
                        c.t("已停用", "deprecated") if i.deprecated else "",
                    ]
                    for i in infos
                ],
            )
        ),
    )


@workflow.command("show")
@click.argument("name", default="rectification")
@click.option("--version", "version", type=int, help="Version (default: newest) / 版本")
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid", "yaml"]), default="text", show_default=True)
@json_flag
@pass_ctx
def workflow_show(c: Ctx, name: str, version: int | None, fmt: str) -> None:
    """Show a deployed workflow; --format mermaid draws it / 查看工作流（mermaid 可画图）。"""
    from .engine.diagram import describe, mermaid

    eng = c.engine()
    d = run(c, lambda: eng.workflow(name, version))
    if c.json:
        out(c, describe(d), "")
    elif fmt == "mermaid":
        click.echo(mermaid(d, c.lang))
    elif fmt == "yaml":
        click.echo(d.source)
    else:
        click.echo(f"{d.title.render(c.lang)}  ({d.name} v{d.version})")
        click.echo(
            table(
                [c.t("状态", "state"), c.t("名称", "label"), "SLA", c.t("终态", "final")],
                [
                    [s.name, s.label.render(c.lang), s.sla.to_dict() if s.sla else "", "✓" if s.final else ""]
                    for s in d.states.values()
                ],
            )
        )
        click.echo()
        click.echo(
            table(
                [
                    c.t("操作", "trigger"),
                    c.t("从", "from"),
                    c.t("到", "to"),
                    c.t("角色", "roles"),
                    c.t("守卫", "guards"),
                    c.t("必填", "requires"),
                ],
                [
                    [
                        f"{t.trigger} ({t.label.get(c.lang)})",
                        ",".join(t.sources),
                        t.dest,
                        ",".join(sorted(t.roles)),
                        "; ".join(g.describe() for g in t.guards),
                        ",".join(sorted(t.require)),
                    ]
                    for t in d.transitions
                ],
            )
        )


def _definition_arg(c: Ctx, eng: Engine, spec: str) -> Any:
    """``NAME@VERSION`` (or ``NAME:VERSION``) of a deployed workflow, or a YAML file."""
    from .engine.definition import load_definition

    m = re.fullmatch(r"([A-Za-z0-9_.-]+)[@:](\d{1,7})", spec)
    if m:
        return run(c, lambda: eng.workflow(m.group(1), int(m.group(2))))
    path = Path(spec)
    if not path.is_file():
        raise click.BadParameter(
            f"{spec!r} 既不是 名称@版本 也不是文件 / is neither NAME@VERSION nor a file", param_hint="A / B"
        )
    return run(c, lambda: load_definition(path))


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
    from .engine.diff import diff

    eng = c.engine()
    left, right = _definition_arg(c, eng, a), _definition_arg(c, eng, b)
    changes = diff(left, right)

    def text() -> None:
        if not changes:
            click.echo(c.t("两个版本的规则相同", "the two versions have the same rules"))
            return
        click.echo(f"{left.name} v{left.version} → {right.name} v{right.version}")
        for ch in changes:
            colour = {"added": "green", "removed": "red", "changed": "yellow"}[ch.change]
            lines = ch.render(c.lang)
            click.echo(click.style(lines[0], fg=colour))
            for line in lines[1:]:
                click.echo(line)

    out(
        c,
        {
            "from": f"{left.name}@{left.version}",
            "to": f"{right.name}@{right.version}",
            "changes": [ch.to_dict() for ch in changes],
        },
        text,
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
    eng = c.engine()
    rep = run(
        c,
        lambda: eng.migrate_workflow(
            name, from_version, to_version, actor=actor, mapping=maps, where=where, dry_run=dry_run
        ),
    )

    def text() -> None:
        verb = Text("将迁移", "would move") if dry_run else Text("已迁移", "moved")
        click.echo(
            c.t(
                f"{verb.zh} {rep.total} 个问题：{name} 第 {from_version} 版 → 第 {to_version} 版",
                f"{verb.en} {rep.total} issues: {name} v{from_version} → v{to_version}",
            )
        )
        if rep.moves:
            click.echo(
                table(
                    [c.t("原状态", "from"), c.t("新状态", "to"), c.t("数量", "count")],
                    [[a, b, n] for (a, b), n in sorted(rep.moves.items())],
                )
            )

    out(c, rep.to_dict(), text)


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
    info = run(c, lambda: eng.deprecate_workflow(name, version, actor=actor, deprecated=not undo, force=force))
    usage = run(c, lambda: eng.workflow_usage(name, version))
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
    from .engine.guards import describe_guards

    g = describe_guards()
    out(
        c,
        g,
        lambda: click.echo(
            table(
                [c.t("守卫", "guard"), c.t("说明", "what it checks")],
                [[x["name"], " ".join(x["doc"].split())] for x in g],
            )
        ),
    )


# --- round -----------------------------------------------------------------------------


@main.group("round")
def round_() -> None:
    """Rounds of inspection, audit or special check (巡视轮次)."""


@round_.command("open")
@click.argument("code")
@click.option("--title", required=True, help="e.g. 省委第三巡视组反馈意见")
@click.option("--org", required=True, help="The inspected body / 被巡视单位, e.g. 省税务局")
@click.option("--feedback-date", required=True, help="Date the findings were handed over / 反馈日期 (YYYY-MM-DD)")
@click.option("--source", help="What found the problems / 问题来源, one of the workflow's sources (default: its first)")
@click.option("--months", type=int, default=3, show_default=True, help="Concentrated period length / 集中整改期（月）")
@click.option("--period-end", help="Explicit end of the concentrated period / 集中整改期截止日")
@click.option("--workflow", "workflow_name", default="rectification", show_default=True)
@actor_options(("inspection_office",))
@json_flag
@pass_ctx
def round_open(
    c: Ctx,
    code: str,
    title: str,
    org: str,
    feedback_date: str,
    source: str | None,
    months: int,
    period_end: str | None,
    workflow_name: str,
    actor: Actor,
) -> None:
    """Open a round; its concentrated period runs --months from the feedback date / 开启巡视轮次。"""
    eng = c.engine()
    r = run(
        c,
        lambda: eng.open_round(
            code,
            title=title,
            org=org,
            feedback_date=feedback_date,
            source=source,
            period_months=months,
            period_end=period_end,
            workflow=workflow_name,
            actor=actor,
        ),
    )
    out(
        c,
        r,
        c.t(
            f"已开启轮次 {code}：集中整改期至 {r['period_end']}",
            f"opened round {code}: concentrated period ends {r['period_end']}",
        ),
    )


@round_.command("list")
@json_flag
@pass_ctx
def round_list(c: Ctx) -> None:
    """All rounds with their issue counts / 轮次列表。"""
    eng = c.engine()
    rs = run(c, eng.rounds)
    out(
        c,
        rs,
        lambda: click.echo(
            table(
                [
                    c.t("轮次", "round"),
                    c.t("标题", "title"),
                    c.t("来源", "source"),
                    c.t("反馈日", "feedback"),
                    c.t("整改期至", "period end"),
                    c.t("问题数", "issues"),
                    c.t("已销号", "closed"),
                ],
                [
                    [
                        r["code"],
                        r["title"],
                        r["source"],
                        r["feedback_date"],
                        r["period_end"],
                        r["issues"],
                        r["by_state"].get("closed", 0),
                    ]
                    for r in rs
                ],
            )
        ),
    )


@round_.command("show")
@click.argument("code")
@json_flag
@pass_ctx
def round_show(c: Ctx, code: str) -> None:
    """One round and its issues by state / 轮次详情。"""
    eng = c.engine()
    r = run(c, lambda: eng.round(code))
    d = run(c, lambda: eng.workflow(r["workflow"], r["workflow_version"]))

    def text() -> None:
        click.echo(f"{r['code']}  {r['title']}")
        click.echo(
            c.t(
                f"被巡视单位：{r['org']}  来源：{r['source']}  反馈日：{r['feedback_date']}",
                f"org: {r['org']}  source: {r['source']}  feedback: {r['feedback_date']}",
            )
        )
        over = Text("已结束", "over") if r["period_over"] else Text("进行中", "running")
        click.echo(
            c.t(
                f"集中整改期至：{r['period_end']}（{over.zh}）",
                f"concentrated period ends: {r['period_end']} ({over.en})",
            )
        )
        click.echo(
            table(
                [c.t("状态", "state"), c.t("数量", "count")],
                # a round's own workflow's states, then those of issues following another workflow
                [[d.label(s).render(c.lang), r["by_state"].get(s, 0)] for s in d.states]
                + [[s, n] for s, n in r["by_state"].items() if s not in d.states],
            )
        )

    out(c, r, text)


# --- issue -----------------------------------------------------------------------------


@main.group()
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
    eng = c.engine()
    v = run(
        c,
        lambda: eng.add_issue(
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
        ),
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
    vs = run(
        c,
        lambda: eng.issues(
            actor,
            round_code=round_code,
            states=states or None,
            categories=categories or None,
            owner=owner,
            lights=lights or None,
            limit=limit,
            offset=offset,
        ),
    )
    out(c, [v.to_dict() for v in vs], lambda: click.echo(ledger_table(c, eng, vs)))


def ledger_table(c: Ctx, eng: Engine, vs: Sequence[Any]) -> str:
    defs: dict[tuple[str, int], Any] = {}

    def d_of(v: Any) -> Any:
        key = (v.workflow, v.workflow_version)
        if key not in defs:
            defs[key] = eng.workflow(*key)
        return defs[key]

    return table(
        [
            c.t("编号", "code"),
            c.t("类别", "category"),
            c.t("问题", "title"),
            c.t("责任部门", "unit"),
            c.t("责任人", "owner"),
            c.t("时限", "due"),
            c.t("状态", "state"),
            c.t("灯", "light"),
            c.t("再犯", "reopened"),
        ],
        [
            [
                v.code,
                d_of(v).categories[v.category].get(c.lang),
                _clip(v.title, 24),
                v.unit,
                v.owner,
                v.due_date or "",
                v.state_label.get(c.lang),
                _light(v, c.lang),
                v.recurrence_count or "",
            ]
            for v in vs
        ],
    )


LIGHT_STYLE = {"green": "green", "yellow": "yellow", "red": "red", "blue": "blue", "orange": "yellow"}


def _light(v: Any, lang: str) -> str:
    if not v.light:
        return ""
    label = v.light_label.get(lang) if v.light_label else v.light
    return click.style("●", fg=LIGHT_STYLE.get(v.light)) + label


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


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
    actor: Actor,
) -> None:
    """Import a problem list (CSV or XLSX, Chinese headers), all or nothing / 导入问题清单。"""
    mapping = {}
    for m in maps:
        if "=" not in m:
            raise click.BadParameter(f"{m!r} 应写作 表头=字段 / must be HEADER=FIELD", param_hint="--map")
        own, fld = m.split("=", 1)
        mapping[own.strip()] = fld.strip()
    eng = c.engine()
    rep = run(
        c,
        lambda: eng.import_issues(
            round_code, file, actor=actor, dry_run=dry_run, encoding=encoding, mapping=mapping, workflow=workflow
        ),
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
    eng = c.engine()
    run(c, lambda: eng.assign(code, owner=owner, lead=lead, comment=comment, actor=actor))
    out(c, {"issue": code, "owner": owner, "lead": lead}, c.t(f"问题 {code} 已调整责任人", f"{code} reassigned"))


@issue.command("show")
@click.argument("code")
@actor_options(("admin",))
@json_flag
@pass_ctx
def issue_show(
    c: Ctx,
    code: str,
    actor: Actor,
) -> None:
    """One issue: measures, evidence, sign-offs, and what can happen next / 问题详情。"""
    eng = c.engine()
    v = run(c, lambda: eng.issue(code, actor))

    def text() -> None:
        click.echo(f"{v.code}  {v.title}")
        fields = [
            (c.t("状态", "state"), v.state_label.render(c.lang)),
            (c.t("类别", "category"), v.category_label.render(c.lang)),
            (c.t("严重程度", "severity"), v.severity_label.render(c.lang)),
            (c.t("问题来源", "source"), v.source_label.render(c.lang) if v.source_label else v.source or "-"),
            (c.t("公开", "disclosure"), c.t("不予公开", "exempt") if v.confidential else c.t("可公开", "public")),
            (c.t("责任部门", "unit"), v.unit),
            (c.t("责任人", "owner"), v.owner or "-"),
            (c.t("责任领导", "lead"), v.lead or "-"),
            (c.t("整改时限", "due"), v.due_date or "-"),
            (c.t("红黄绿灯", "light"), _light(v, c.lang) or "-"),
            (c.t("督办级别", "escalation level"), v.escalation_level),
            (c.t("轮次", "round"), v.round),
            (c.t("工作流", "workflow"), f"{v.workflow} v{v.workflow_version}"),
            (c.t("版本", "version"), v.version),
        ]
        if v.recurrence_count:
            fields.append((c.t("再犯次数", "recurrences"), v.recurrence_count))
        w = max(width(k) for k, _ in fields)
        for k, val in fields:
            click.echo(f"  {k}{' ' * (w - width(k))}  {val}")
        if v.measures:
            click.echo("\n" + c.t("整改措施", "measures"))
            click.echo(
                table(
                    [
                        "#",
                        c.t("措施", "measure"),
                        c.t("责任人", "owner"),
                        c.t("时限", "due"),
                        c.t("量化目标", "target"),
                        c.t("完成", "done"),
                    ],
                    [
                        [
                            m["no"],
                            _clip(m["text"], 30),
                            m["owner"],
                            m["due_date"],
                            m["target"],
                            "✓" if m["done"] else "",
                        ]
                        for m in v.measures
                    ],
                )
            )
        if v.evidence:
            click.echo("\n" + c.t("佐证材料", "evidence"))
            for e in v.evidence:
                click.echo(f"  {e['uri']}  sha256:{e['sha256'][:12]}…  {e['note']}")
        if v.signoffs:
            click.echo("\n" + c.t("签字确认", "sign-offs"))
            for s in v.signoffs:
                earlier = "" if s["current"] else "  " + c.t("以往环节", "earlier stage")
                click.echo(f"  {s['role']}: {s['actor']} @ {s['state']}{earlier}")
        if v.mechanisms:
            click.echo("\n" + c.t("长效机制", "long-term mechanisms"))
            for m in v.mechanisms:
                click.echo(f"  {m['title']} {m['reference']}")
        click.echo("\n" + c.t(f"下一步（以 {actor.id} 的身份）", f"next steps (as {actor.id})"))
        for t in v.triggers:
            mark = click.style("✓", fg="green") if t.available else click.style("✗", fg="red")
            req = (
                c.t(f"（需填写：{','.join(t.requires)}）", f" (requires: {','.join(t.requires)})") if t.requires else ""
            )
            click.echo(f"  {mark} {t.trigger} → {t.dest}  [{','.join(t.roles)}]{req}")
            for rule, reason in t.reasons:
                click.echo(f"      - [{rule}] {reason.render(c.lang)}")

    out(c, v.to_dict(), text)


# --- edits -----------------------------------------------------------------------------


@main.group()
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
    c: Ctx,
    code: str,
    text: str,
    owner: str | None,
    due_date: str | None,
    target: str | None,
    actor: Actor,
) -> None:
    """Add a measure to an issue / 添加整改措施。"""
    eng = c.engine()
    no = run(
        c,
        lambda: eng.add_measure(code, text, owner=owner, due_date=due_date, target=target, actor=actor),
    )
    out(c, {"issue": code, "no": no}, c.t(f"问题 {code} 已添加措施 {no}", f"added measure {no} to {code}"))


@measure.command("done")
@click.argument("code")
@click.argument("no", type=int)
@click.option("--comment")
@actor_options(("owner",))
@json_flag
@pass_ctx
def measure_done(
    c: Ctx,
    code: str,
    no: int,
    comment: str | None,
    actor: Actor,
) -> None:
    """Mark a measure done / 措施完成。"""
    eng = c.engine()
    run(c, lambda: eng.complete_measure(code, no, comment=comment, actor=actor))
    out(
        c,
        {"issue": code, "no": no, "done": True},
        c.t(f"问题 {code} 措施 {no} 已完成", f"measure {no} of {code} is done"),
    )


@main.group()
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
def evidence_add(
    c: Ctx,
    code: str,
    uri: str,
    sha256: str,
    note: str,
    measure_no: int | None,
    actor: Actor,
) -> None:
    """Attach evidence to an issue / 上传佐证材料（登记地址与哈希）。"""
    eng = c.engine()
    run(
        c,
        lambda: eng.add_evidence(code, uri, sha256, note=note, measure_no=measure_no, actor=actor),
    )
    out(c, {"issue": code, "uri": uri}, c.t(f"问题 {code} 已登记佐证材料", f"evidence attached to {code}"))


@main.command("signoff")
@click.argument("code")
@click.option("--role", "role", required=True, help="The role you sign for / 签字角色")
@click.option("--as", "user", required=True, help="Who signs / 签字人")
@click.option("--scope", "scopes", multiple=True)
@click.option("--comment")
@json_flag
@pass_ctx
def signoff(c: Ctx, code: str, role: str, user: str, scopes: tuple[str, ...], comment: str | None) -> None:
    """Sign off an issue at its current stage / 签字确认。"""
    eng = c.engine()
    run(c, lambda: eng.sign_off(code, role, comment=comment, actor=make_actor(user, (role,), scopes)))
    out(
        c,
        {"issue": code, "role": role, "by": user},
        c.t(f"{user} 已以 {role} 身份签字确认 {code}", f"{user} signed off {code} as {role}"),
    )


@main.group()
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
def mechanism_add(
    c: Ctx,
    code: str,
    title: str,
    reference: str,
    adopted_on: str | None,
    actor: Actor,
) -> None:
    """Record a rule or institution adopted / 登记长效机制。"""
    eng = c.engine()
    run(
        c,
        lambda: eng.add_mechanism(code, title, reference=reference, adopted_on=adopted_on, actor=actor),
    )
    out(c, {"issue": code, "title": title}, c.t(f"问题 {code} 已登记长效机制", f"mechanism recorded for {code}"))


@main.command("fire")
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
    eng = c.engine()
    r = run(
        c,
        lambda: eng.fire(
            code,
            trigger,
            actor=make_actor(user, (role,), scopes),
            role=role,
            comment=comment,
            request_id=request_id,
            expected_version=expected_version,
        ),
    )
    d = run(c, lambda: eng.workflow(*_wf_of(eng, code)))
    replay = c.t("（重复请求，未再次执行）", " (a repeated request: nothing more was done)") if r.replayed else ""
    out(c, r.to_dict(), f"{code}: {d.label(r.source).render(c.lang)} → {d.label(r.dest).render(c.lang)}{replay}")


def _wf_of(eng: Engine, code: str) -> tuple[str, int]:
    from .engine.actors import SYSTEM

    v = eng.issue(code, SYSTEM)
    return v.workflow, v.workflow_version


@main.command("explain")
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
    eng = c.engine()
    ex = run(c, lambda: eng.explain(code, trigger, actor=actor))

    def text() -> None:
        period = (
            Text(f"集中整改期内（至 {ex.period_end}）", f"inside the concentrated period (to {ex.period_end})")
            if ex.today <= ex.period_end
            else Text(f"集中整改期已于 {ex.period_end} 结束", f"the concentrated period ended {ex.period_end}")
        )
        gone = Text("（已停用）", " (deprecated)") if ex.deprecated else Text("", "")
        version = f"{ex.workflow} v{ex.version}"
        click.echo(
            c.t(
                f"{ex.code}：{ex.state_label.zh}（{ex.state}）｜{version}{gone.zh}｜轮次 {ex.round}，{period.zh}｜今天 {ex.today}",
                f"{ex.code}: {ex.state_label.en} ({ex.state}) | {version}{gone.en} | round {ex.round}, {period.en} | today {ex.today}",
            )
        )
        roles = ", ".join(ex.roles) or "-"
        click.echo(c.t(f"操作人 {ex.actor}，角色：{roles}", f"acting: {ex.actor}, roles: {roles}"))
        for note in ex.notes:
            click.echo(click.style("! " + note.render(c.lang), fg="yellow"))
        if not ex.triggers and not ex.notes:
            click.echo(c.t("此状态下没有可执行的操作", "no step leaves this state"))
        for t in ex.triggers:
            verdict = (
                click.style(c.t("可以执行", "can"), fg="green")
                if t.available
                else click.style(c.t("不能执行", "cannot"), fg="red")
            )
            click.echo()
            click.echo(f"{t.trigger}（{t.label.get(c.lang)}）→ {t.dest_label.get(c.lang)}: {verdict}")
            for chk in t.checks:
                mark = click.style("✓", fg="green") if chk.ok else click.style("✗", fg="red")
                click.echo(f"  {mark} {chk.rule}: {chk.reason.get(c.lang)}")

    out(c, ex.to_dict(), text)


@main.command("history")
@click.argument("code")
@click.option("--verify", is_flag=True, help="Recompute the hash chain / 校验哈希链")
@actor_options(("admin",))
@json_flag
@pass_ctx
def history(
    c: Ctx,
    code: str,
    verify: bool,
    actor: Actor,
) -> None:
    """Every action on an issue, oldest first / 操作历史。"""
    eng = c.engine()
    actor = actor
    evs = run(c, lambda: eng.history(code, actor))
    rep = run(c, lambda: eng.verify(code, actor)) if verify else None
    data: dict[str, Any] = {"issue": code, "events": evs}
    if rep is not None:
        data["verify"] = rep.to_dict()

    def text() -> None:
        click.echo(
            table(
                [
                    "#",
                    c.t("时间", "at (local)"),
                    c.t("动作", "action"),
                    c.t("从", "from"),
                    c.t("到", "to"),
                    c.t("操作人", "actor"),
                    c.t("角色", "role"),
                    c.t("说明", "comment"),
                    "hash",
                ],
                [
                    [
                        e["seq"],
                        e["at_local"][:16].replace("T", " "),
                        e["trigger"] or e["kind"],
                        e["from"],
                        e["to"],
                        e["actor"],
                        e["role"],
                        _clip(e["comment"] or "", 20),
                        e["hash"][:10],
                    ]
                    for e in evs
                ],
            )
        )
        if rep is not None:
            if rep.ok:
                click.echo(
                    click.style(
                        c.t(f"哈希链完整：{rep.events} 条记录均已校验", f"chain intact: {rep.events} events verified"),
                        fg="green",
                    )
                )
            else:
                for seq, reason in rep.problems:
                    click.echo(click.style(f"#{seq}: {reason.render(c.lang)}", fg="red"))

    out(c, data, text)
    if rep is not None and not rep.ok:
        sys.exit(EXIT_CODES["history_tampered"])


@main.group()
def ledger() -> None:
    """The rectification ledger (整改台账): export."""


@ledger.command("export")
@click.option("--round", "round_code", required=True)
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), help="Default: from the file name")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--unit", help="Only this unit and below / 责任部门")
@click.option("--state", "states", multiple=True)
@click.option("--category", "categories", multiple=True)
@click.option("--light", "lights", multiple=True)
@click.option("--source", "sources", multiple=True, help="Only this source / 问题来源, e.g. audit")
@actor_options(("admin",))
@json_flag
@pass_ctx
def ledger_export(
    c: Ctx,
    round_code: str,
    fmt: str | None,
    output: Path,
    unit: str | None,
    states: tuple[str, ...],
    categories: tuple[str, ...],
    lights: tuple[str, ...],
    sources: tuple[str, ...],
    actor: Actor,
) -> None:
    """Export the ledger as XLSX (coloured lights, frozen header, summary sheet) or CSV
    (UTF-8 with BOM for Excel) / 导出整改台账。"""
    eng = c.engine()
    n = run(
        c,
        lambda: eng.export_ledger(
            round_code,
            output,
            actor=actor,
            fmt=fmt,
            states=states or None,
            categories=categories or None,
            lights=lights or None,
            sources=sources or None,
            unit=unit,
        ),
    )
    out(c, {"rows": n, "output": str(output)}, c.t(f"已导出 {n} 个问题到 {output}", f"exported {n} issues to {output}"))


@main.command("stats")
@click.option("--round", "round_code", required=True)
@click.option("--by", type=click.Choice(["unit", "category", "source", "state"]), help="Break down by / 分组")
@actor_options(("admin",))
@json_flag
@pass_ctx
def stats(c: Ctx, round_code: str, by: str | None, actor: Actor) -> None:
    """Counts, completion rates, overdue and supervised items, lights, recurrences and the
    weekly burn-down of open items / 整改统计。With the global --as-of, that day's numbers."""
    eng = c.engine()
    st = run(c, lambda: eng.stats(round_code, actor=actor, by=by, as_of=c.as_of))

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x * 100:.1f}%"

    def text() -> None:
        click.echo(
            c.t(
                f"轮次 {round_code}（截至 {st['as_of']}，集中整改期至 {st['period_end']}）",
                f"round {round_code} (as of {st['as_of']}, concentrated period ends {st['period_end']})",
            )
        )
        rows = [
            [c.t("问题总数", "issues"), st["total"]],
            [c.t("已销号", "closed"), st["closed"]],
            [c.t("整改完成率", "completion rate"), pct(st["completion_rate"])],
            [c.t("立行立改完成率", "immediate items completed"), pct(st["immediate_completion_rate"])],
            [c.t("逾期", "overdue"), st["overdue"]],
            [c.t("挂牌督办", "supervised"), st["supervised"]],
            [c.t("提级办理", "raised a level"), st["raised_a_level"]],
            [c.t("再犯次数", "recurrences"), st["recurrences"]],
            [c.t("平均销号天数", "average days to close"), st.get("average_days_to_close", "-")],
            [c.t("红黄绿灯", "lights"), ", ".join(f"{k}:{v}" for k, v in st["lights"].items()) or "-"],
        ]
        click.echo(table([c.t("指标", "measure"), c.t("数值", "value")], rows))
        if "by" in st:
            click.echo()
            groups = st["by"]["groups"]
            click.echo(
                table(
                    [
                        by or "",
                        c.t("总数", "total"),
                        c.t("已销号", "closed"),
                        c.t("完成率", "rate"),
                        c.t("逾期", "overdue"),
                        c.t("督办", "supervised"),
                    ],
                    [
                        [
                            Text(**g["label"]).render(c.lang) if "label" in g else k,
                            g["total"],
                            g["closed"],
                            pct(g["completion_rate"]),
                            g["overdue"],
                            g["supervised"],
                        ]
                        for k, g in groups.items()
                    ],
                )
            )
        click.echo()
        click.echo(
            table(
                [c.t("周末日期", "week ending"), c.t("未销号", "open")],
                [[w["week_ending"], w["open"]] for w in st["burn_down"]],
            )
        )

    out(c, st, text)


@main.group()
def report() -> None:
    """Charts and the rectification report drafts (整改情况报告) / 图表与报告。

    Needs the report extra: pip install 'zhenggai[report]'."""


@report.command("draft")
@click.option("--round", "round_code", required=True)
@click.option("--format", "fmt", type=click.Choice(["docx", "md"]), help="Default: from the file name")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(["committee", "secretary"]),
    default="committee",
    show_default=True,
    help="committee: 党委整改情况报告; secretary: 党委书记组织落实整改情况报告 (first person)",
)
@click.option(
    "--public", is_flag=True, help="The public version: no names or internal notes, exempt items left out / 公开版"
)
@click.option(
    "--template",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Your own template (.docx with Jinja2 tags, or .md.j2) / 自定义模板",
)
@click.option("--charts/--no-charts", default=True, show_default=True, help="Draw and embed the charts / 图表")
@actor_options(("admin",))
@json_flag
@pass_ctx
def report_draft(
    c: Ctx,
    round_code: str,
    fmt: str | None,
    output: Path,
    kind: str,
    public: bool,
    template: Path | None,
    charts: bool,
    actor: Actor,
) -> None:
    """Write the first draft of the rectification report / 生成整改情况报告初稿。

    \b
    Example / 示例:
      zhenggai report draft --round R1 -o 整改报告.docx
      zhenggai report draft --round R1 --kind secretary -o 书记报告.md
      zhenggai report draft --round R1 --public -o 公开版.docx
    """
    from .reporting.draft import draft_report

    eng = c.engine()
    info = run(
        c,
        lambda: draft_report(
            eng,
            round_code,
            output,
            actor=actor,
            fmt=fmt,
            kind=kind,
            public=public,
            template=template,
            charts=charts,
        ),
    )

    def text() -> None:
        click.echo(c.t(f"已生成报告初稿 {info.output}", f"wrote the draft {info.output}"))
        click.echo(
            c.t(
                f"  问题 {info.problems} 个；图表 {len(info.charts)} 张",
                f"  {info.problems} problems; {len(info.charts)} charts",
            )
        )
        if info.withheld:
            click.echo(
                c.t(
                    f"  公开版未列出 {info.withheld} 个不予公开的问题",
                    f"  {info.withheld} exempt problems left out of the public version",
                )
            )
        if not info.period_over:
            click.echo(
                c.t(
                    "  集中整改期尚未结束：首页已注明为草稿",
                    "  the concentrated period has not ended: the first page says it is a draft",
                )
            )

    out(c, info.to_dict(), text)


@report.command("charts")
@click.option("--round", "round_code", required=True)
@click.option("-o", "--output", "directory", required=True, type=click.Path(file_okay=False, path_type=Path))
@actor_options(("admin",))
@json_flag
@pass_ctx
def report_charts(c: Ctx, round_code: str, directory: Path, actor: Actor) -> None:
    """Draw the charts as PNG files: progress by unit, burn-down, lights by unit / 绘制图表。"""
    from .reporting.charts import draw_all
    from .reporting.draft import chart_data

    eng = c.engine()
    paths = run(c, lambda: draw_all(chart_data(eng, round_code, actor=actor), directory))
    out(c, {name: str(p) for name, p in paths.items()}, "\n".join(str(p) for p in paths.values()))


@main.command("sweep")
@click.option(
    "--as-of",
    "sweep_as_of",
    callback=lambda ctx, p, v: _check_as_of(v),
    help="Sweep as if it were this date (YYYY-MM-DD) / 按指定日期巡检",
)
@click.option("--dry-run", is_flag=True, help="Show what would happen and change nothing / 只预演，不修改")
@click.option("--batch", type=click.IntRange(1, 10000), default=200, show_default=True)
@json_flag
@pass_ctx
def sweep(c: Ctx, sweep_as_of: str | None, dry_run: bool, batch: int) -> None:
    """Apply every escalation rule whose time has come (reminders, cautions, supervised
    handling, raising a level) and queue the notices / 执行到期的督办规则。

    With --as-of DATE it shows what that day will bring (use with --dry-run)."""
    eng = c.engine()
    rep = run(c, lambda: eng.sweep(sweep_as_of or c.as_of, dry_run=dry_run, batch=batch))

    def text() -> None:
        zh, en = ("预演（未做任何修改）", "dry run (nothing changed)") if dry_run else ("已执行", "applied")
        click.echo(
            c.t(
                f"{zh}：检查 {rep.checked} 个到期问题，触发 {len(rep.fired)} 条规则",
                f"{en}: {rep.checked} issues due for a check, {len(rep.fired)} rules fired",
            )
        )
        if rep.fired:
            click.echo(
                table(
                    [
                        c.t("编号", "code"),
                        c.t("规则", "rule"),
                        c.t("动作", "action"),
                        c.t("结果", "outcome"),
                        c.t("最后期限", "final deadline"),
                    ],
                    [[f["issue"], f["rule"], f["action"], f["outcome"], f.get("new_deadline", "")] for f in rep.fired],
                )
            )

    out(c, rep.to_dict(), text)


@main.group()
def outbox() -> None:
    """Notices waiting for, or done with, delivery (通知发件箱)."""


@outbox.command("list")
@click.option("--status", type=click.Choice(["pending", "delivered", "dead"]))
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@json_flag
@pass_ctx
def outbox_list(c: Ctx, status: str | None, limit: int) -> None:
    """Newest notices first / 查看通知。"""
    eng = c.engine()
    rows = run(c, lambda: eng.outbox(status=status, limit=limit))
    out(
        c,
        rows,
        lambda: click.echo(
            table(
                [
                    "id",
                    c.t("问题", "issue"),
                    c.t("规则", "rule"),
                    c.t("渠道", "channel"),
                    c.t("收件人", "to"),
                    c.t("状态", "status"),
                    c.t("次数", "tries"),
                    c.t("错误", "error"),
                ],
                [
                    [
                        r["id"],
                        r["issue"],
                        r["rule"],
                        r["channel"],
                        r["recipient"].get("user") or r["recipient"].get("role"),
                        r["status"],
                        r["attempts"],
                        _clip(r["last_error"] or "", 30),
                    ]
                    for r in rows
                ],
            )
        ),
    )


@outbox.command("deliver")
@click.option("--limit", type=click.IntRange(1, 10000), default=500, show_default=True)
@json_flag
@pass_ctx
def outbox_deliver(c: Ctx, limit: int) -> None:
    """Send the notices that are due now (for cron; the scheduler does this itself) / 发送通知。"""
    eng = c.engine()
    rep = run(c, lambda: eng.deliver(limit=limit))
    out(
        c,
        rep.to_dict(),
        c.t(
            f"已送达 {rep.delivered}，失败 {rep.failed}（其中放弃 {rep.dead}）",
            f"delivered {rep.delivered}, failed {rep.failed} ({rep.dead} given up)",
        ),
    )


@outbox.command("retry")
@click.argument("ids", nargs=-1, type=int)
@json_flag
@pass_ctx
def outbox_retry(c: Ctx, ids: tuple[int, ...]) -> None:
    """Queue dead notices again (all, or the given ids) / 重新发送失败的通知。"""
    eng = c.engine()
    n = run(c, lambda: eng.retry_dead(list(ids) or None))
    out(c, {"requeued": n}, c.t(f"已重新排队 {n} 条通知", f"{n} notices queued again"))


@main.group()
def audit() -> None:
    """Checks over the whole database, for the operator (审计)."""


@audit.command("verify")
@json_flag
@pass_ctx
def audit_verify(c: Ctx) -> None:
    """Verify every issue's hash chain and records, and find events that point to no issue
    / 校验全部问题的哈希链与记录。

    Exits 8 if anything is wrong, naming each issue and the row at fault."""
    eng = c.engine()
    rep = run(c, eng.audit_verify)

    def text() -> None:
        if rep.ok:
            click.echo(
                click.style(
                    c.t(
                        f"审计通过：{rep.issues} 个问题、{rep.events} 条历史记录的哈希链与记录均完整（{rep.seconds:.1f} 秒）",
                        f"audit passed: {rep.issues} issues and {rep.events} events, every chain and record intact "
                        f"({rep.seconds:.1f} s)",
                    ),
                    fg="green",
                )
            )
            return
        for f in rep.findings():
            where = f["issue"] or c.t("（无此问题）", "(no issue)")
            row = f"#{f['seq']}" + (f" (event id {f['event_id']})" if f["event_id"] is not None else "")
            click.echo(click.style(f"{where} {row}: {f['reason'].render(c.lang)}", fg="red"))
        click.echo(
            click.style(
                c.t(
                    f"审计未通过：{len(rep.bad)} 个问题的历史或记录有误，{rep.orphan_events} 条记录指向不存在的问题"
                    f"（共检查 {rep.issues} 个问题、{rep.events} 条记录）",
                    f"audit failed: {len(rep.bad)} issues with a broken history or records, {rep.orphan_events} "
                    f"events pointing to no issue ({rep.issues} issues and {rep.events} events checked)",
                ),
                fg="red",
            ),
            err=True,
        )

    out(c, rep.to_dict(), text)
    if not rep.ok:
        sys.exit(EXIT_CODES["history_tampered"])


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists / 覆盖已有文件")
@json_flag
@pass_ctx
def backup(c: Ctx, path: Path, force: bool) -> None:
    """Copy the SQLite database to PATH while it stays in use (SQLite's backup API) / 在线备份。

    For PostgreSQL use pg_dump."""
    eng = c.engine()
    info = run(c, lambda: eng.backup(path, force=force))
    out(
        c,
        info.to_dict(),
        c.t(
            f"已备份到 {info.path}：{info.issues} 个问题、{info.events} 条记录（结构版本 {info.revision}）",
            f"backed up to {info.path}: {info.issues} issues, {info.events} events (schema {info.revision})",
        ),
    )


@main.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that holds data / 覆盖已有数据")
@json_flag
@pass_ctx
def restore(c: Ctx, path: Path, force: bool) -> None:
    """Replace the SQLite database's contents with the backup at PATH, after checking it is an
    undamaged zhenggai database; an older schema is upgraded / 从备份恢复。"""
    eng = c.engine(check_schema=False)
    info = run(c, lambda: eng.restore(path, force=force))
    upgraded = info.upgraded_from
    out(
        c,
        info.to_dict(),
        c.t(
            f"已从 {path} 恢复到 {info.path}：{info.issues} 个问题、{info.events} 条记录"
            + (f"（结构已从 {upgraded} 升级到 {info.revision}）" if upgraded else ""),
            f"restored {path} into {info.path}: {info.issues} issues, {info.events} events"
            + (f" (schema upgraded from {upgraded} to {info.revision})" if upgraded else ""),
        ),
    )


def _with_notifiers(c: Ctx, eng: Engine) -> Engine:
    """Notifiers from the environment; each one configured also becomes a channel every
    notice is sent to (the log always is one):

    ZHENGGAI_WEBHOOK_URL + ZHENGGAI_WEBHOOK_SECRET, ZHENGGAI_OA_TODO_URL + ZHENGGAI_OA_TODO_SECRET,
    ZHENGGAI_SMTP_HOST [+ ZHENGGAI_SMTP_PORT, ZHENGGAI_SMTP_FROM, ZHENGGAI_EMAIL_ADDRESSES (JSON:
    {"user id" or "role@unit": "address"})]."""
    import os

    from .engine.notify import EmailNotifier, OATodoNotifier, WebhookNotifier

    env = os.environ
    for prefix, cls in (("ZHENGGAI_WEBHOOK", WebhookNotifier), ("ZHENGGAI_OA_TODO", OATodoNotifier)):
        url = env.get(f"{prefix}_URL")
        if url:
            secret = env.get(f"{prefix}_SECRET", "")
            if len(secret) < 16:
                fail(
                    c,
                    "invalid_input",
                    Text(
                        f"{prefix}_SECRET 须至少 16 个字符（接收方据此验证签名）",
                        f"{prefix}_SECRET must have at least 16 characters (receivers verify with it)",
                    ),
                    {"field": f"{prefix}_SECRET"},
                )
            eng.notifiers.add(cls(url, secret))
            eng.channels.append(cls.name)
    host = env.get("ZHENGGAI_SMTP_HOST")
    if host:
        try:
            addresses = json.loads(env.get("ZHENGGAI_EMAIL_ADDRESSES", "{}"))
            port = int(env.get("ZHENGGAI_SMTP_PORT", "25"))
        except ValueError as exc:
            fail(
                c,
                "invalid_input",
                Text(f"邮件配置有误：{exc}", f"the e-mail settings are wrong: {exc}"),
                {"field": "ZHENGGAI_EMAIL_ADDRESSES"},
            )
        eng.notifiers.add(EmailNotifier(host, port, env.get("ZHENGGAI_SMTP_FROM", "zhenggai@localhost"), addresses))
        eng.channels.append("email")
    return eng


@main.group()
def scheduler() -> None:
    """The escalation scheduler (APScheduler) / 定时督办。"""


@scheduler.command("run")
@click.option(
    "--cron",
    default="0 * * * *",
    show_default=True,
    help="When to sweep (crontab; on days off the sweep does nothing) / 巡检时间",
)
@click.option("--every-day", is_flag=True, help="Sweep on days off too / 节假日也执行")
@click.option("--interval", type=click.FloatRange(min=0.1), help="Sweep every N seconds instead of --cron / 间隔秒数")
@click.option(
    "--deliver-every", type=click.FloatRange(min=0.1), default=60, show_default=True, help="Seconds between deliveries"
)
@pass_ctx
def scheduler_run(c: Ctx, cron: str, every_day: bool, interval: float | None, deliver_every: float) -> None:
    """Run the sweep and the outbox delivery until SIGTERM; safe on several nodes at once
    (each keeps its jobs in memory; the jobs claim work with row locks) / 运行定时任务。"""
    import logging

    from .engine.scheduler import Scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    eng = c.engine()
    try:
        sched = Scheduler(
            eng, cron=cron, interval=interval, deliver_every=deliver_every, working_days_only=not every_day
        )
    except ValueError as exc:
        fail(c, "invalid_input", Text(f"--cron 无效：{exc}", f"--cron is not valid: {exc}"), {"field": "cron"})
    sched.run()


@main.group()
def client() -> None:
    """OA systems allowed to call the HTTP API (接入系统): add, list, rotate, revoke.

    Needs ZHENGGAI_API_KEY (at least 32 random characters): each client's secret is derived
    from it and never stored."""


@client.command("add")
@click.argument("name")
@click.option(
    "--allow-role",
    "allowed_roles",
    multiple=True,
    required=True,
    help="A role its users may hold (repeat) / 可声明的角色",
)
@click.option(
    "--allow-scope",
    "allowed_scopes",
    multiple=True,
    help="An org path its users may act in (repeat; default *) / 组织范围",
)
@actor_options(("admin",))
@json_flag
@pass_ctx
def client_add(
    c: Ctx, name: str, allowed_roles: tuple[str, ...], allowed_scopes: tuple[str, ...], actor: Actor
) -> None:
    """Register an OA system and print its secret once / 新增接入系统。

    \b
    Example / 示例:
      zhenggai client add oa-tax --allow-role owner --allow-role unit_lead --allow-scope 省税务局 --as admin.li
    """
    from .api.clients import Clients

    eng = c.engine()
    _need_admin(c, actor)
    cl, secret = run(
        c, lambda: Clients(eng).add(name, roles=list(allowed_roles), scopes=list(allowed_scopes), by=actor.id)
    )
    out(
        c,
        {**cl.to_dict(), "secret": secret},
        c.t(
            f"已新增接入系统 {name}；密钥（仅显示一次，请妥善保存）：\n{secret}",
            f"client {name} added; its secret (shown once, keep it safe):\n{secret}",
        ),
    )


@client.command("list")
@json_flag
@pass_ctx
def client_list(c: Ctx) -> None:
    """Clients with what their users may assert / 接入系统列表。"""
    from .api.clients import Clients

    eng = c.engine()
    rows = run(c, lambda: Clients(eng).list())
    out(
        c,
        [r.to_dict() for r in rows],
        lambda: click.echo(
            table(
                [c.t("名称", "name"), c.t("角色", "roles"), c.t("组织范围", "scopes"), c.t("状态", "status")],
                [
                    [
                        r.name,
                        ", ".join(sorted(r.roles)),
                        ", ".join(r.scopes),
                        c.t("已吊销", "revoked") if r.revoked_at else c.t("有效", "active"),
                    ]
                    for r in rows
                ],
            )
        ),
    )


@client.command("rotate")
@click.argument("name")
@actor_options(("admin",))
@json_flag
@pass_ctx
def client_rotate(c: Ctx, name: str, actor: Actor) -> None:
    """Issue a new secret; the old one stops working at once / 更换密钥。"""
    from .api.clients import Clients

    eng = c.engine()
    _need_admin(c, actor)
    secret = run(c, lambda: Clients(eng).rotate(name))
    out(c, {"name": name, "secret": secret}, c.t(f"{name} 的新密钥：\n{secret}", f"new secret for {name}:\n{secret}"))


@client.command("revoke")
@click.argument("name")
@actor_options(("admin",))
@json_flag
@pass_ctx
def client_revoke(c: Ctx, name: str, actor: Actor) -> None:
    """Stop a client: its requests are refused from now on / 吊销接入系统。"""
    from .api.clients import Clients

    eng = c.engine()
    _need_admin(c, actor)
    run(c, lambda: Clients(eng).revoke(name))
    out(c, {"name": name, "revoked": True}, c.t(f"已吊销 {name}", f"revoked {name}"))


def _need_admin(c: Ctx, actor: Actor) -> None:
    if "admin" not in actor.roles:
        fail(
            c, "forbidden", Text("只有管理员（admin）可以管理接入系统", "only an administrator (admin) manages clients")
        )


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@pass_ctx
def serve(c: Ctx, host: str, port: int, workers: int) -> None:
    """Serve the HTTP API for OA systems (uvicorn) / 启动 HTTP 服务。

    Needs the server extra (pip install 'zhenggai[server]') and ZHENGGAI_API_KEY."""
    import os

    try:
        import uvicorn
    except ImportError:
        fail(
            c,
            "unavailable",
            Text(
                "需要可选依赖：pip install 'zhenggai[server]'", "needs the server extra: pip install 'zhenggai[server]'"
            ),
        )
    from .api.clients import server_key

    c.engine()  # fails here, plainly, if the database is missing or not initialised
    run(c, server_key)
    if c.db:
        os.environ["ZHENGGAI_DB"] = c.db
    from .api.server import serve as run_server

    _ = uvicorn  # imported above only to say plainly when the server extra is missing
    run_server(host, port, workers)


@main.command("demo")
@click.option(
    "--db",
    "demo_db",
    default="zhenggai-demo.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="SQLite file the demo (re)creates / 演示数据库文件",
)
@pass_ctx
def demo(c: Ctx, demo_db: str) -> None:
    """Tell a round's story on a fresh SQLite database: problems planned, signed, worked,
    self-checked, reviewed and closed, with the refusals the rules impose / 演示。"""
    from .demo import DemoRefused, run_demo

    try:
        run_demo(demo_db, lang=c.lang, echo=click.echo)
    except DemoRefused as exc:
        fail(c, "invalid_input", exc.text, {"field": "db"})


if __name__ == "__main__":  # pragma: no cover
    main()
