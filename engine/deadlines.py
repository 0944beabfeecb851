"""Deadline changes (延期申请): the owner asks with a reason and a new date; the role the
workflow's ``decide_extension`` names approves or refuses.

Each step is an edit (:func:`edits.edit`): one event on the issue's chain (``extension_requested``,
``extension_approved``, ``extension_refused``) and the ``deadline_changes`` row it states, so
verify replays both.  An approval moves the issue's deadline — and its category when the
request recategorises it, and a caution's last deadline with it — and the measures' dates the
request names; the light and the next check follow from the new date in the same write.

The rules a new deadline must meet are checked when it is asked for and again when it is
approved (measures may have been added in between): later than the deadline it replaces (or
the same date with another category), not before the feedback date, every measure still open
due by it, and inside the concentrated period for the categories the workflow's
``due_within_period`` guards bind (立行立改) — an immediate item goes past the period only by
being recategorised in the same request.  :func:`period_refusal` is the same rule ``issue add``
applies to a new problem.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ..i18n import Text
from ..storage.repository import Repository
from ..storage.rows import DeadlineChangeRow, IssueHead
from .actors import Actor
from .authz import visible_issue
from .core import Core
from .definition import WorkflowDefinition
from .edits import edit
from .errors import InvalidInput, Refused
from .inputs import MAX_LONG_TEXT, need_text, optional_text, required_date
from .results import iso

PENDING, APPROVED, REFUSED = "pending", "approved", "refused"


def encode_dates(dates: Mapping[int, date]) -> str:
    """Measures' new dates as stored and as the event states them (one canonical text)."""
    return json.dumps({str(no): dates[no].isoformat() for no in sorted(dates)}, sort_keys=True)


def period_refusal(d: WorkflowDefinition, category: str, due: date | None, period_end: date) -> Text | None:
    """Why a deadline cannot be kept: an item of a category the workflow binds to the
    concentrated period (立行立改) due after it ends; None when it can."""
    if due is None or category not in d.period_bound_categories or due <= period_end:
        return None
    label = d.categories[category] if category in d.categories else Text(category, category)
    return Text(
        f"{label.zh}问题的整改时限 {due} 超出集中整改期（至 {period_end}，含当日）：须在期内完成，或改为其他类别",
        f"a {label.en} item's deadline {due} falls after the concentrated period ends ({period_end}, inclusive): "
        "it must be done inside the period, or recategorised",
    )


def _measure_dates(raw: Mapping[int | str, date | str] | None) -> dict[int, date]:
    out: dict[int, date] = {}
    for no, value in (raw or {}).items():
        if not str(no).isdigit():
            raise InvalidInput(
                Text(f"措施编号 {no!r} 不是数字", f"measure number {no!r} is not a number"), field="measures"
            )
        out[int(no)] = required_date(value, f"measure {no}")
    return out


def _problems(
    repo: Repository, d: WorkflowDefinition, row: IssueHead, due: date, category: str, dates: Mapping[int, date]
) -> list[tuple[str, Text]]:
    """Every rule the changed deadline breaks, as (field, reason)."""
    out: list[tuple[str, Text]] = []
    if category not in d.categories:
        out.append(
            (
                "category",
                Text(
                    f"未知的问题类别 {category}（可用：{', '.join(d.categories)}）",
                    f"unknown category {category} (known: {', '.join(d.categories)})",
                ),
            )
        )
        return out
    if (row.due_date is not None and due < row.due_date) or (due == row.due_date and category == row.category):
        out.append(
            (
                "due_date",
                Text(
                    f"新的整改时限 {due} 须晚于现有时限 {row.due_date}（或同时改变类别）",
                    f"the new deadline {due} must be later than the present one, {row.due_date} (or change the category)",
                ),
            )
        )
    if due < row.round_feedback_date:
        out.append(
            (
                "due_date",
                Text(
                    f"整改时限 {due} 早于反馈日 {row.round_feedback_date}",
                    f"deadline {due} is before the feedback date {row.round_feedback_date}",
                ),
            )
        )
    period = period_refusal(d, category, due, row.round_period_end)
    if period is not None:
        out.append(("due_within_period", period))
    measures = {m.no: m for m in repo.records.measures(row.id)}
    for no in sorted(set(dates) - set(measures)):
        out.append(("measures", Text(f"问题 {row.code} 没有措施 {no}", f"issue {row.code} has no measure {no}")))
    for no, m in sorted(measures.items()):
        when = dates.get(no, m.due_date)
        if m.done_at is None and when is not None and when > due:
            out.append(
                (
                    "measures",
                    Text(
                        f"措施 {no} 的时限 {when} 晚于新的整改时限 {due}：请一并调整该措施的时限",
                        f"measure {no} is due {when}, after the new deadline {due}: change its date with the deadline",
                    ),
                )
            )
    return out


def _pending(repo: Repository, row: IssueHead) -> DeadlineChangeRow | None:
    return next((c for c in repo.records.deadline_changes(row.id) if c.status == PENDING), None)


def request(
    core: Core,
    code: str,
    *,
    actor: Actor,
    due_date: date | str,
    reason: str,
    category: str | None = None,
    measure_dates: Mapping[int | str, date | str] | None = None,
    expected_version: int | None = None,
    request_id: str | None = None,
) -> int:
    """See :meth:`Engine.request_extension`.  Returns the request's number within the issue."""
    due = required_date(due_date, "due_date")
    reason = need_text(reason, "reason", limit=MAX_LONG_TEXT)
    new_category = optional_text(category, "category", limit=64)
    dates = _measure_dates(measure_dates)

    def apply(repo: Repository, row: IssueHead, d: WorkflowDefinition, now: datetime) -> tuple[str, dict[str, Any]]:
        if (open_ := _pending(repo, row)) is not None:
            raise Refused(
                Text(
                    f"问题 {code} 已有待审批的延期申请（第 {open_.no} 次）",
                    f"issue {code} already has a deadline change awaiting decision (no. {open_.no})",
                ),
                [
                    (
                        "pending",
                        Text(
                            f"申请人 {open_.requested_by}，新时限 {open_.due_date}",
                            f"asked by {open_.requested_by} for {open_.due_date}",
                        ),
                    )
                ],
            )
        cat = new_category or row.category
        problems = _problems(repo, d, row, due, cat, dates)
        if problems:
            raise Refused(Text(f"问题 {code} 不能申请延期", f"issue {code}'s deadline cannot be changed so"), problems)
        no = len(repo.records.deadline_changes(row.id)) + 1
        encoded = encode_dates(dates)
        repo.records.insert_deadline_change(
            dict(
                issue_id=row.id, no=no, from_due_date=row.due_date, due_date=due, from_category=row.category,
                category=cat, measure_dates=encoded, reason=reason, requested_by=actor.id, requested_at=now,
                status=PENDING, decided_by=None, decided_at=None, decision="",
            )
        )  # fmt: skip
        return "extension_requested", {
            "no": no,
            "from_due_date": iso(row.due_date),
            "due_date": iso(due),
            "from_category": row.category,
            "category": cat,
            "measure_dates": encoded,
        }

    out = edit(
        core,
        code,
        actor,
        "request_extension",
        apply,
        comment=reason,
        expected_version=expected_version,
        request_id=request_id,
    )
    no: int = out["no"]
    return no


def decide(
    core: Core,
    code: str,
    *,
    actor: Actor,
    approve: bool,
    comment: str | None = None,
    expected_version: int | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """See :meth:`Engine.decide_extension`."""
    comment = optional_text(comment, "comment", limit=MAX_LONG_TEXT)
    if not approve and comment is None:
        raise InvalidInput(
            Text("不予延期须说明理由（--comment）", "a refusal needs its reason (--comment)"), field="comment"
        )

    def apply(
        repo: Repository, row: IssueHead, d: WorkflowDefinition, now: datetime
    ) -> tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], dict[str, Any]]:
        change = _pending(repo, row)
        if change is None:
            raise Refused(
                Text(f"问题 {code} 没有待审批的延期申请", f"issue {code} has no deadline change awaiting decision"), []
            )
        if not approve:
            repo.records.decide_deadline_change(
                row.id, change.no, status=REFUSED, by=actor.id, at=now, decision=comment or ""
            )
            return "extension_refused", {"no": change.no}
        dates = {int(k): date.fromisoformat(v) for k, v in json.loads(change.measure_dates or "{}").items()}
        problems = _problems(repo, d, row, change.due_date, change.category, dates)
        if problems:  # the issue changed since it was asked (a measure added, a deadline moved)
            raise Refused(
                Text(f"问题 {code} 的延期申请已不能批准", f"issue {code}'s deadline change can no longer be approved"),
                problems,
            )
        repo.records.decide_deadline_change(
            row.id, change.no, status=APPROVED, by=actor.id, at=now, decision=comment or ""
        )
        values: dict[str, Any] = {"due_date": change.due_date}
        data: dict[str, Any] = {"no": change.no, "due_date": {"from": iso(row.due_date), "to": iso(change.due_date)}}
        if change.category != row.category:
            values["category"] = change.category
            data["category"] = {"from": row.category, "to": change.category}
        if row.final_deadline is not None:  # a caution's last deadline moves with the deadline
            values["final_deadline"] = change.due_date
        repo.issues.set_deadline(row.id, values)
        for no, due in dates.items():
            repo.records.set_measure_due(row.id, no, due)
        data["measure_dates"] = {str(no): due.isoformat() for no, due in sorted(dates.items())}
        return "extension_approved", data, values

    return edit(
        core,
        code,
        actor,
        "decide_extension",
        apply,
        comment=comment,
        expected_version=expected_version,
        request_id=request_id,
    )


def changes(core: Core, code: str, actor: Actor) -> list[dict[str, Any]]:
    """An issue's deadline changes, asked and decided, in order."""
    with core.read() as conn:
        repo = Repository(conn)
        row = visible_issue(repo, code, actor)
        return [as_dict(c) for c in repo.records.deadline_changes(row.id)]


def as_dict(c: DeadlineChangeRow) -> dict[str, Any]:
    return {
        "no": c.no,
        "from_due_date": iso(c.from_due_date),
        "due_date": iso(c.due_date),
        "from_category": c.from_category,
        "category": c.category,
        "measure_dates": json.loads(c.measure_dates or "{}"),
        "reason": c.reason,
        "requested_by": c.requested_by,
        "requested_at": iso(c.requested_at),
        "status": c.status,
        "decided_by": c.decided_by,
        "decided_at": iso(c.decided_at),
        "decision": c.decision,
    }


__all__ = ["APPROVED", "PENDING", "REFUSED", "changes", "decide", "encode_dates", "period_refusal", "request"]
