"""Audited corrections of how an issue was recorded: its disclosure and its source.

A problem marked confidential (不予公开) by mistake drops out of the public report; one given
the wrong source (巡视, 审计, 专项检查 …) is counted under the wrong heading.  Neither may be
fixed behind the engine — verify would name the column — so it is fixed through it: one
``corrected`` event on the chain with each field's old and new value, a reason (required), the
roles the workflow grants ``correct_issue`` under ``actions:`` (open to nobody where a
workflow does not declare it), and verify replays it like every other record.

A closed issue can be corrected too: the public report of a finished round is exactly where a
wrong disclosure shows.  Nothing else about the issue changes, so no to-do moves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..i18n import Text
from ..storage.repository import Repository
from ..storage.rows import IssueHead
from .actors import Actor
from .core import Core
from .definition import WorkflowDefinition
from .edits import edit
from .errors import InvalidInput
from .inputs import MAX_LONG_TEXT, need_text
from .labels import need_source


def correct_issue(
    core: Core,
    code: str,
    *,
    actor: Actor,
    reason: str,
    confidential: bool | None = None,
    source: str | None = None,
    expected_version: int | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """See :meth:`Engine.correct_issue`.  Returns what changed, ``{field: {from, to}}``."""
    reason = need_text(reason, "reason", limit=MAX_LONG_TEXT)
    if confidential is None and source is None:
        raise InvalidInput(Text("请指定要更正的公开属性或问题来源", "name the disclosure or the source to correct"), field="confidential")
    if confidential is not None and not isinstance(confidential, bool):
        raise InvalidInput(Text("confidential 须为 true 或 false", "confidential must be true or false"), field="confidential")

    def apply(repo: Repository, row: IssueHead, d: WorkflowDefinition, now: datetime) -> tuple[str, dict[str, Any]]:
        stored = repo.issues.get(row.code)
        assert stored is not None
        wanted: dict[str, Any] = {}
        if confidential is not None:
            wanted["confidential"] = confidential
        if source is not None:
            wanted["source"] = need_source(d, source)
        before = {"confidential": bool(stored.confidential), "source": stored.source or stored.round_source}
        changes = {k: v for k, v in wanted.items() if v != before[k]}
        if not changes:
            raise InvalidInput(Text("没有任何变化", "nothing would change"), field=next(iter(wanted)))
        repo.issues.correct(row.id, **changes)
        return "corrected", {k: {"from": before[k], "to": v} for k, v in changes.items()}

    return edit(
        core,
        code,
        actor,
        "correct_issue",
        apply,
        comment=reason,
        expected_version=expected_version,
        request_id=request_id,
        after_closing=True,
    )
