"""Calendar files: an office's own corrections to the statutory holidays, by date.

``chinese-calendar`` knows each year's holidays only once a release carries the State
Council's schedule (1.11 knows up to 2026).  When next year's schedule is published an office
writes it down in a YAML file and names it in ``ZHENGGAI_CALENDAR_FILE``; the file extends the
package (a year it does not know) or overrides it (a day it has wrong)::

    # 国务院办公厅关于2027年部分节假日安排的通知
    years: [2027]              # the years given completely: their other days are ordinary
    holidays:                  # days off (a range: "2027-02-06..2027-02-12")
      2027-01-01: 元旦
      2027-02-06..2027-02-12: 春节
    workdays:                  # make-up working days (调休) on a weekend
      2027-02-20: 春节调休

A day the file names is known; so is every day of a year it lists under ``years`` (weekends
off, weekdays on, but for the days it names).  Other days are as the package says, or
estimated (Monday to Friday) where it knows nothing.  A file that is wrong is refused whole,
naming the entry and its line; nothing of it is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import yaml

from ...i18n import Text
from ..errors import InvalidInput

#: the longest range one entry may name (a holiday, not a year)
MAX_RANGE = 31


@dataclass(frozen=True)
class Corrections:
    holidays: dict[date, str] = field(default_factory=dict)
    workdays: dict[date, str] = field(default_factory=dict)
    years: frozenset[int] = frozenset()
    source: str = ""

    def answer(self, day: date) -> bool | None:
        """Whether ``day`` is a working day by this file, or ``None`` if it does not say."""
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        if day.year in self.years:
            return day.weekday() < 5
        return None

    def first_day(self) -> date | None:
        """The earliest day the file speaks of."""
        days = [*self.holidays, *self.workdays, *(date(y, 1, 1) for y in self.years)]
        return min(days) if days else None


def _refuse(source: str, line: int | None, zh: str, en: str) -> InvalidInput:
    where = f"{source}:{line}" if line else source
    return InvalidInput(Text(f"日历文件 {where}：{zh}", f"calendar file {where}: {en}"), field="file")


def _days(text: str, source: str, line: int) -> list[date]:
    lo_s, sep, hi_s = text.partition("..")
    try:
        lo = date.fromisoformat(lo_s.strip())
        hi = date.fromisoformat(hi_s.strip()) if sep else lo
    except ValueError:
        raise _refuse(
            source,
            line,
            f"「{text}」不是日期（YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD）",
            f"{text!r} is not a date (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)",
        ) from None
    if hi < lo or (hi - lo).days >= MAX_RANGE:
        raise _refuse(
            source,
            line,
            f"「{text}」的范围须从早到晚且不超过 {MAX_RANGE} 天",
            f"the range {text!r} must run forwards and span at most {MAX_RANGE} days",
        )
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def _entries(node: yaml.Node | None, what: str, source: str) -> dict[date, str]:
    out: dict[date, str] = {}
    if node is None or (isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null")):
        return out
    if not isinstance(node, yaml.MappingNode):
        raise _refuse(
            source, node.start_mark.line + 1, f"{what} 应为「日期: 名称」的映射", f"{what} must map dates to names"
        )
    for k, v in node.value:
        line = k.start_mark.line + 1
        if not isinstance(k, yaml.ScalarNode) or not isinstance(v, yaml.ScalarNode):
            raise _refuse(
                source, line, f"{what} 的每一项应为「日期: 名称」", f"each entry of {what} must be date: name"
            )
        key, name = k.value, v.value
        for day in _days(key, source, line):
            if day in out:
                raise _refuse(source, line, f"{day} 在 {what} 中出现两次", f"{day} appears twice in {what}")
            out[day] = str(name or "")
    return out


def parse(text: str, source: str = "<calendar>") -> Corrections:
    """The corrections a calendar file gives; :class:`InvalidInput` naming the line otherwise."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise _refuse(
            source, mark.line + 1 if mark else None, f"不是有效的 YAML：{exc}", f"not valid YAML: {exc}"
        ) from None
    if root is None:
        return Corrections(source=source)
    if not isinstance(root, yaml.MappingNode):
        raise _refuse(
            source, 1, "应为含 years、holidays、workdays 的映射", "must be a mapping of years, holidays, workdays"
        )
    nodes = {k.value: v for k, v in root.value}
    unknown = set(nodes) - {"years", "holidays", "workdays"}
    if unknown:
        raise _refuse(
            source, 1, f"未知的键：{', '.join(sorted(unknown))}", f"unknown keys: {', '.join(sorted(unknown))}"
        )
    years: set[int] = set()
    if "years" in nodes:
        raw = yaml.safe_load(yaml.serialize(nodes["years"]))
        if not isinstance(raw, list) or not all(isinstance(y, int) and 1900 < y < 2200 for y in raw):
            line = nodes["years"].start_mark.line + 1
            raise _refuse(
                source, line, "years 应为年份列表，如 [2027]", "years must be a list of years, such as [2027]"
            )
        years = set(raw)
    holidays = _entries(nodes.get("holidays"), "holidays", source)
    workdays = _entries(nodes.get("workdays"), "workdays", source)
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise _refuse(
            source, None, f"{both[0]} 既是假日又是调休工作日", f"{both[0]} is both a holiday and a make-up working day"
        )
    return Corrections(holidays, workdays, frozenset(years), source)


def load(path: str | Path) -> Corrections:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _refuse(str(p), None, f"无法读取：{exc}", f"cannot be read: {exc}") from None
    return parse(text, str(p))
