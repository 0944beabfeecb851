"""The calendar an office counts working days by: ``calendar show``, ``check`` and
``recompute`` (the corrections themselves live in a calendar file; see README)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import click

from ..engine import calendar_files
from ..engine.calendars.corrections import load
from .context import Ctx, json_flag, out, pass_ctx

FILE_ENV = "ZHENGGAI_CALENDAR_FILE"
file_option = click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False),
    default=lambda: os.environ.get(FILE_ENV) or None,
    help=f"the calendar file (default ${FILE_ENV}) / 日历文件",
)


@click.group()
def calendar() -> None:
    """Holidays and make-up working days (节假日与调休): which days are known, which estimated."""


def _ranges(days: list[dict[str, Any]], source: str) -> list[str]:
    """Consecutive days of one source as ``first..last``."""
    out: list[str] = []
    run: list[str] = []
    for d in [*days, {"date": "", "source": None}]:
        if d["source"] == source:
            run.append(d["date"])
            continue
        if run:
            out.append(run[0] if len(run) == 1 else f"{run[0]}..{run[-1]}")
            run = []
    return out


def _show_text(c: Ctx, y: dict[str, Any]) -> str:
    days = y["days"]
    named = [f"  {d['date']} {'上班' if d['working'] else '放假'} {d['name']}" for d in days if d["name"]]
    est = _ranges(days, "estimated")
    lines = [
        c.t(
            f"{y['year']} 年：工作日 {y['working_days']} 天；已知 {y['known']} 天（日历文件 {y['by_source']['file']}，"
            f"chinese-calendar {y['by_source']['package']}），估算 {y['estimated']} 天（按周一至周五）",
            f"{y['year']}: {y['working_days']} working days; {y['known']} days known (calendar file "
            f"{y['by_source']['file']}, chinese-calendar {y['by_source']['package']}), {y['estimated']} estimated "
            "(Monday to Friday)",
        )
    ]
    if y["file"]:
        lines.append(c.t(f"日历文件：{y['file']}", f"calendar file: {y['file']}"))
    if named:
        lines += [c.t("文件所列日期：", "days the file names:"), *named]
    if est:
        lines += [c.t("估算的日期：", "estimated days:"), *(f"  {r}" for r in est)]
    return "\n".join(lines)


@calendar.command("show")
@click.argument("year", type=click.IntRange(1901, 2199))
@file_option
@json_flag
@pass_ctx
def calendar_show(c: Ctx, year: int, path: str | None) -> None:
    """Each day of YEAR: known (calendar file, chinese-calendar) or estimated / 查看某年日历。"""
    calendar_files.use_file(path)
    y = calendar_files.year(year)
    out(c, y, lambda: _show_text(c, y))


@calendar.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@json_flag
@pass_ctx
def calendar_check(c: Ctx, file: str) -> None:
    """Check a calendar file without using it / 检查日历文件。"""
    corr = load(file)
    data = {
        "file": file,
        "years": sorted(corr.years),
        "holidays": len(corr.holidays),
        "workdays": len(corr.workdays),
    }
    out(
        c,
        data,
        c.t(
            f"日历文件 {file} 无误：整年 {', '.join(map(str, data['years'])) or '无'}；假日 {data['holidays']} 天，"
            f"调休上班 {data['workdays']} 天",
            f"calendar file {file} is valid: whole years {', '.join(map(str, data['years'])) or 'none'}; "
            f"{data['holidays']} holidays, {data['workdays']} make-up working days",
        ),
    )


@calendar.command("recompute")
@file_option
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The first day the change touches (a day removed or moved: the old file's day) / 变更涉及的最早日期",
)
@json_flag
@pass_ctx
def calendar_recompute(c: Ctx, path: str | None, since: datetime | None) -> None:
    """After a calendar change: work out again the next checks it may move / 日历变更后重算。

    Without --since, from the new file's first day (or the first year the package does not
    know); a day taken out of the file lies before that: name it with --since."""
    eng = c.engine()
    eng.use_calendar_file(path)
    rep = eng.recompute_schedules(since=since.date() if since else None)
    out(
        c,
        rep.to_dict(),
        c.t(
            f"自 {rep.since} 起：检查 {rep.checked} 个问题，{len(rep.moved)} 个的下次检查时间已更新",
            f"from {rep.since} on: {rep.checked} issues checked, {len(rep.moved)} next checks moved",
        ),
    )


COMMANDS = (calendar,)
