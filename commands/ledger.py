"""The ledger (整改台账), the statistics and the report drafts of a round: ``ledger export``,
``stats``, ``report draft``, ``report charts``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import render
from .context import Ctx, actor_options, json_flag, out, pass_ctx

if TYPE_CHECKING:
    from ..engine.actors import Actor


@click.group()
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
    n = c.engine().export_ledger(
        round_code,
        output,
        actor=actor,
        fmt=fmt,
        states=states or None,
        categories=categories or None,
        lights=lights or None,
        sources=sources or None,
        unit=unit,
    )
    out(c, {"rows": n, "output": str(output)}, c.t(f"已导出 {n} 个问题到 {output}", f"exported {n} issues to {output}"))


@click.command("stats")
@click.option("--round", "round_code", required=True)
@click.option("--by", type=click.Choice(["unit", "category", "source", "state"]), help="Break down by / 分组")
@actor_options(("admin",))
@json_flag
@pass_ctx
def stats(c: Ctx, round_code: str, by: str | None, actor: Actor) -> None:
    """Counts, completion rates, overdue and supervised items, lights, recurrences and the
    weekly burn-down of open items / 整改统计。With the global --as-of, that day's numbers."""
    st = c.engine().stats(round_code, actor=actor, by=by, as_of=c.as_of)
    out(c, st, lambda: render.stats(st, round_code, by, c.lang))


@click.group()
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
    from ..reporting.draft import draft_report

    eng = c.engine()
    info = draft_report(
        eng, round_code, output, actor=actor, fmt=fmt, kind=kind, public=public, template=template, charts=charts
    )
    out(c, info.to_dict(), lambda: render.report_draft(info, c.lang))


@report.command("charts")
@click.option("--round", "round_code", required=True)
@click.option("-o", "--output", "directory", required=True, type=click.Path(file_okay=False, path_type=Path))
@actor_options(("admin",))
@json_flag
@pass_ctx
def report_charts(c: Ctx, round_code: str, directory: Path, actor: Actor) -> None:
    """Draw the charts as PNG files: progress by unit, burn-down, lights by unit / 绘制图表。"""
    from ..reporting.charts import draw_all
    from ..reporting.draft import chart_data

    eng = c.engine()
    paths = draw_all(chart_data(eng, round_code, actor=actor), directory)
    out(c, {name: str(p) for name, p in paths.items()}, "\n".join(str(p) for p in paths.values()))


COMMANDS = (ledger, stats, report)
