"""Reading a workflow file without stopping at the first mistake.

:class:`Checker` collects every problem (file, line, key, reason) while the section readers
go on, so an administrator fixes a broken file in one pass; its helpers read the shapes every
section shares (names, labels, durations, mappings).
"""

from __future__ import annotations

from typing import Any

from ...i18n import Text
from ..durations import UNITS as DURATION_UNITS
from ..durations import Duration
from .model import DefinitionProblem
from .yamlsrc import LDict

NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


def scalar(v: Any) -> Any:
    """A value used as a name: lists and mappings become their text, so a wrong type gets a
    clear "not defined" error instead of breaking a lookup."""
    return v if v is None or isinstance(v, (str, int, float, bool)) else repr(plain(v))


def plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


class Checker:
    """Collects problems while reading one file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[DefinitionProblem] = []

    def err(self, line: int, key: str, zh: str, en: str) -> None:
        self.problems.append(DefinitionProblem(self.file, line, key, Text(zh, en)))

    def name_ok(self, value: Any, line: int, key: str, limit: int = 64) -> bool:
        if (
            not isinstance(value, str)
            or not value
            or len(value) > limit
            or not set(value) <= NAME_CHARS
            or value[0].isdigit()
        ):
            self.err(
                line,
                key,
                f"名称 {value!r} 须为 1-{limit} 个小写字母、数字和下划线",
                f"name {value!r} must be 1-{limit} lower-case letters, digits and _",
            )
            return False
        return True

    def label(self, raw: Any, line: int, key: str, fallback: str) -> Text:
        if raw is None:
            return Text(fallback, fallback)
        if not isinstance(raw, dict) or not isinstance(raw.get("zh"), str) or not isinstance(raw.get("en"), str):
            self.err(line, key, "标签须同时有 zh 和 en 文本", "a label needs both zh and en text")
            return Text(fallback, fallback)
        return Text(raw["zh"], raw["en"])

    def names(self, raw: Any, line: int, key: str) -> list[str]:
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            self.err(line, key, "应为名称或名称列表", "must be a name or a list of names")
            return []
        return list(items)

    def duration(self, raw: Any, line: int, key: str) -> Duration | None:
        if not isinstance(raw, dict) or len(raw) != 1:
            self.err(
                line, key, "期限应写作 {days: N} 或 {working_days: N}", "a duration is {days: N} or {working_days: N}"
            )
            return None
        ((unit, amount),) = raw.items()
        if unit not in DURATION_UNITS:
            self.err(line, key, f"未知的期限单位 {unit}", f"unknown duration unit {unit}")
            return None
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= 3650:
            self.err(line, key, "期限应为 0-3650 的整数", "a duration must be a whole number from 0 to 3650")
            return None
        return Duration(amount, unit)

    def mapping_of(self, doc: LDict, key: str, required: bool = True) -> LDict | None:
        v = doc.get(key)
        if v is None:
            if required:
                self.err(doc.line_of(key), key, f"缺少 {key}", f"{key} is missing")
            return None
        if not isinstance(v, LDict):
            self.err(doc.line_of(key), key, f"{key} 应为映射", f"{key} must be a mapping")
            return None
        return v
