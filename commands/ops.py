"""Running the service, for the operator: ``init``, ``sweep``, ``outbox``, ``audit verify``,
``backup``/``restore`` and the ``scheduler``."""

from __future__ import annotations

from pathlib import Path

import click

from ..engine.errors import HistoryTampered, InvalidInput
from ..i18n import Text
from . import render
from .context import Ctx, check_as_of, json_flag, out, pass_ctx


@click.command()
@json_flag
@pass_ctx
def init(c: Ctx) -> None:
    """Create or upgrade the schema and deploy the shipped workflow / 初始化或升级数据库。"""
    eng = c.engine(check_schema=False)
    rev = eng.init()
    out(
        c,
        {"url": eng.db.url, "revision": rev},
        c.t(f"数据库已就绪：{eng.db.url}（结构版本 {rev}）", f"database ready: {eng.db.url} (schema {rev})"),
    )


@click.command("sweep")
@click.option(
    "--as-of", "sweep_as_of", callback=check_as_of, help="Sweep as if it were this date (YYYY-MM-DD) / 按指定日期巡检"
)
@click.option("--dry-run", is_flag=True, help="Show what would happen and change nothing / 只预演，不修改")
@click.option("--batch", type=click.IntRange(1, 10000), default=200, show_default=True)
@json_flag
@pass_ctx
def sweep(c: Ctx, sweep_as_of: str | None, dry_run: bool, batch: int) -> None:
    """Apply every escalation rule whose time has come (reminders, cautions, supervised
    handling, raising a level) and queue the notices / 执行到期的督办规则。

    With --as-of DATE it shows what that day will bring (use with --dry-run)."""
    rep = c.engine().sweep(sweep_as_of or c.as_of, dry_run=dry_run, batch=batch, backdate=c.backdate)
    out(c, rep.to_dict(), lambda: render.sweep(rep, dry_run, c.lang))


@click.group()
def outbox() -> None:
    """Notices waiting for, or done with, delivery (通知发件箱)."""


@outbox.command("list")
@click.option("--status", type=click.Choice(["pending", "delivered", "dead"]))
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@json_flag
@pass_ctx
def outbox_list(c: Ctx, status: str | None, limit: int) -> None:
    """Newest notices first / 查看通知。"""
    rows = c.engine().outbox(status=status, limit=limit)
    out(c, rows, lambda: render.outbox(rows, c.lang))


@outbox.command("deliver")
@click.option("--limit", type=click.IntRange(1, 10000), default=500, show_default=True)
@json_flag
@pass_ctx
def outbox_deliver(c: Ctx, limit: int) -> None:
    """Send the notices that are due now (for cron; the scheduler does this itself) / 发送通知。"""
    rep = c.engine().deliver(limit=limit)
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
    n = c.engine().retry_dead(list(ids) or None)
    out(c, {"requeued": n}, c.t(f"已重新排队 {n} 条通知", f"{n} notices queued again"))


@click.group()
def audit() -> None:
    """Checks over the whole database, for the operator (审计)."""


@audit.command("verify")
@json_flag
@pass_ctx
def audit_verify(c: Ctx) -> None:
    """Verify every issue's hash chain and records, and find events that point to no issue
    / 校验全部问题的哈希链与记录。

    With ZHENGGAI_API_KEY set, the API clients' sealed grants are checked too.  Exits 8 if
    anything is wrong, naming each issue and the row at fault."""
    import os

    from ..api.clients import KEY_ENV, Clients

    eng = c.engine()
    rep = eng.audit_verify()
    # the HTTP service's own sealed rows: each client's grant (checked when its key is set)
    unsealed = Clients(eng).unsealed() if os.environ.get(KEY_ENV) else []
    data = {**rep.to_dict(), "unsealed_clients": unsealed, "ok": rep.ok and not unsealed}
    out(c, data, lambda: render.audit(rep, c.lang, unsealed))
    if not rep.ok or unsealed:
        if not c.json:
            click.echo(render.audit_failed(rep, c.lang, unsealed), err=True)
        click.get_current_context().exit(HistoryTampered.exit_code)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists / 覆盖已有文件")
@json_flag
@pass_ctx
def backup(c: Ctx, path: Path, force: bool) -> None:
    """Copy the SQLite database to PATH while it stays in use (SQLite's backup API) / 在线备份。

    For PostgreSQL use pg_dump."""
    info = c.engine().backup(path, force=force)
    out(
        c,
        info.to_dict(),
        c.t(
            f"已备份到 {info.path}：{info.issues} 个问题、{info.events} 条记录（结构版本 {info.revision}）",
            f"backed up to {info.path}: {info.issues} issues, {info.events} events (schema {info.revision})",
        ),
    )


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that holds data / 覆盖已有数据")
@json_flag
@pass_ctx
def restore(c: Ctx, path: Path, force: bool) -> None:
    """Replace the SQLite database's contents with the backup at PATH, after checking it is an
    undamaged zhenggai database; an older schema is upgraded / 从备份恢复。"""
    from ..api.clients import grants_refusal

    info = c.engine(check_schema=False).restore(path, force=force, checks=[grants_refusal])
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


@click.group()
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

    from ..engine.scheduler import Scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin set-up is not the operator's news
    eng = c.engine()
    try:
        sched = Scheduler(
            eng, cron=cron, interval=interval, deliver_every=deliver_every, working_days_only=not every_day
        )
    except ValueError as exc:
        raise InvalidInput(Text(f"--cron 无效：{exc}", f"--cron is not valid: {exc}"), field="cron") from None
    sched.run()


COMMANDS = (init, sweep, outbox, audit, backup, restore, scheduler)
