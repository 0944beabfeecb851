"""``zhenggai round``: rounds of inspection, audit or special check (巡视轮次): open, list, show."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from . import render
from .context import Ctx, actor_options, json_flag, out, pass_ctx

if TYPE_CHECKING:
    from ..engine.actors import Actor


@click.group("round")
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
    r = c.engine().open_round(
        code,
        title=title,
        org=org,
        feedback_date=feedback_date,
        source=source,
        period_months=months,
        period_end=period_end,
        workflow=workflow_name,
        actor=actor,
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
    rs = c.engine().rounds()
    out(c, rs, lambda: render.round_list(rs, c.lang))


@round_.command("show")
@click.argument("code")
@json_flag
@pass_ctx
def round_show(c: Ctx, code: str) -> None:
    """One round and its issues by state / 轮次详情。"""
    eng = c.engine()
    r = eng.round(code)
    d = eng.workflow(r["workflow"], r["workflow_version"])
    out(c, r, lambda: render.round_card(r, d, c.lang))


COMMANDS = (round_,)
