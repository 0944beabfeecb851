"""How a workflow names things: its sources, lights and escalation actions, and an issue's
number on its round's list."""

from __future__ import annotations

from collections.abc import Mapping

from ..i18n import Text
from ..storage.rows import IssueRow, RoundRow
from .definition import WorkflowDefinition
from .errors import InvalidInput

#: sources for a workflow deployed before workflows declared their own (``sources:``)
LEGACY_SOURCES = {
    "inspection": Text("巡视", "inspection"),
    "audit": Text("审计", "audit"),
    "special_check": Text("专项检查", "special check"),
}

ACTION_LABELS = {
    "remind": Text("催办提醒", "reminder"),
    "warn": Text("告诫", "caution"),
    "escalate": Text("挂牌督办", "supervised handling"),
    "elevate": Text("提级办理、问责", "raised a level"),
    "notify": Text("通知", "notice"),
}


def sources_of(d: WorkflowDefinition) -> Mapping[str, Text]:
    return d.sources or LEGACY_SOURCES


def need_source(d: WorkflowDefinition, source: str) -> str:
    known = sources_of(d)
    if source not in known:
        raise InvalidInput(
            Text(
                f"未知的问题来源 {source}（可用：{', '.join(known)}）",
                f"unknown source {source} (known: {', '.join(known)})",
            ),
            field="source",
        )
    return source


def round_source(d: WorkflowDefinition, r: RoundRow) -> str:
    """A problem comes from its round's source unless it says otherwise."""
    return r.source if r.source in sources_of(d) else next(iter(sources_of(d)))


def source_of(row: IssueRow) -> str:
    """An issue's source; one stored before sources existed has its round's."""
    return row.source or row.round_source


def light_label(d: WorkflowDefinition, light: str | None) -> Text | None:
    if light is None or not d.light_colours:
        return None
    return d.light_colours.get(light, Text(light, light))


def number_in_round(code: str, round_code: str) -> str:
    """The 序号 an office wrote for a problem: its code without the ``<round>-`` prefix."""
    return code[len(round_code) + 1 :] if code.startswith(round_code + "-") else code
