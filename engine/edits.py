"""Edits that are not transitions: measures, evidence, sign-offs, mechanisms, reassignment.

Each is one transaction through :func:`edit`: the issue's head locked and checked against the
version the caller read, the role the workflow's ``actions:`` allow for it, the change itself
(an ``apply`` function that writes the record and says what to put in the event), and one
event on the chain through the journal.  A closed issue is not edited.

A ``request_id`` makes a retried edit safe, as it does a transition: the event records it, and
the same id again — a retry after the first attempt committed but its answer was lost — finds
that event under the issue's lock and answers with it, changing nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from ..i18n import Text
from ..storage.repository import Repository
from ..storage.rows import IssueHead, RequestEvent
from . import journal
from .actors import Actor
from .authz import edit_role, writable_issue
from .core import Core
from .definition import WorkflowDefinition
from .errors import InvalidInput, NotFound, Refused
from .inputs import MAX_LONG_TEXT, need_date, need_evidence_uri, need_person, need_sha256, need_text, optional_text
from .outbox import subject_of, todo_channels, todo_notices
from .results import iso

#: an edit's own writes, given the time its event is dated (its records carry the same);
#: returns the event's kind and data, and (for an edit that changes the issue's deadline or
#: category) the issue's fields as they now are, from which its light and next check follow
Apply = Callable[
    [Repository, IssueHead, WorkflowDefinition, datetime],
    tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], dict[str, Any]],
]


#: the event each edit action writes (what a retried request's first event must be)
KINDS: dict[str, str | tuple[str, ...]] = {
    "add_measure": "measure_added",
    "complete_measure": "measure_done",
    "add_evidence": "evidence_added",
    "sign_off": "signed_off",
    "assign": "assigned",
    "add_mechanism": "mechanism_added",
    "correct_issue": "corrected",
    "request_extension": "extension_requested",
    "decide_extension": ("extension_approved", "extension_refused"),
}


def edit(
    core: Core,
    code: str,
    actor: Actor,
    action: str,
    apply: Apply,
    *,
    role: str | None = None,
    comment: str | None = None,
    expected_version: int | None = None,
    request_id: str | None = None,
    after_closing: bool = False,
) -> dict[str, Any]:
    """``after_closing`` admits an edit of a closed issue (a correction of its record)."""
    if request_id is not None:
        request_id = need_text(request_id, "request_id", limit=128)
    try:
        return _edit(core, code, actor, action, apply, role, comment, expected_version, request_id, after_closing)
    except IntegrityError:
        # a concurrent twin with the same request id won the insert: answer with its event
        if request_id is not None:
            with core.read() as conn:
                prior = Repository(conn).events.by_request(request_id)
            if prior is not None:
                return _replayed(prior, code, action, actor)
        raise journal.concurrent(code) from None


def _edit(
    core: Core,
    code: str,
    actor: Actor,
    action: str,
    apply: Apply,
    role: str | None,
    comment: str | None,
    expected_version: int | None,
    request_id: str | None,
    after_closing: bool,
) -> dict[str, Any]:
    with core.write() as conn:
        repo = Repository(conn)
        row = writable_issue(repo, code, actor)
        # dated once the issue is locked: a write that waited for another is dated after it,
        # so the history's times never go backwards under concurrent writers
        now = core.clock.now()
        if request_id is not None:  # under the issue's lock: a twin has committed, or waits
            prior = repo.events.by_request(request_id)
            if prior is not None:
                return _replayed(prior, code, action, actor)
        journal.check_version(code, row, expected_version)
        d = core.definitions.get(repo, row.workflow_id)
        if d.states[row.state].final and not after_closing:
            raise Refused(
                Text(
                    f"问题 {code} 已{d.label(row.state).zh}，不能再修改",
                    f"issue {code} is {d.label(row.state).en}; it can no longer be edited",
                ),
                [("state", d.label(row.state))],
            )
        used_role = edit_role(d, action, actor, row, role=role)
        kind, data, *changed = apply(repo, row, d, now)
        head = row._replace(**changed[0]) if changed else row
        journal.append(
            core, repo, d, head, kind, actor, used_role, now, comment=comment, data=data, request_id=request_id
        )
        return data


def _replayed(prior: RequestEvent, code: str, action: str, actor: Actor) -> dict[str, Any]:
    """What the first attempt of a retried edit wrote — only for the same actor, issue and edit."""
    kinds = KINDS[action]
    if (
        prior.issue_code != code
        or prior.kind not in (kinds if isinstance(kinds, tuple) else (kinds,))
        or prior.actor_id != actor.id
    ):
        raise journal.request_reused(prior)
    data: dict[str, Any] = json.loads(prior.data or "{}")
    return data


def add_measure(
    core: Core,
    code: str,
    text: str,
    *,
    actor: Actor,
    owner: str | None = None,
    due_date: date | str | None = None,
    target: str | None = None,
    expected_version: int | None = None,
    request_id: str | None = None,
) -> int:
    text = need_text(text, "text", limit=MAX_LONG_TEXT)
    owner = need_person(owner, "owner", required=False)
    target = optional_text(target, "target")
    due = need_date(due_date, "due_date")

    def apply(repo: Repository, row: IssueHead, d: WorkflowDefinition, now: datetime) -> tuple[str, dict[str, Any]]:
        no = repo.records.next_measure_no(row.id)
        repo.records.insert_measure(issue_id=row.id, no=no, text=text, owner=owner, due_date=due, target=target)
        return "measure_added", {"no": no, "text": text, "owner": owner, "due_date": iso(due), "target": target}

    no: int = edit(core, code, actor, "add_measure", apply, expected_version=expected_version, request_id=request_id)[
        "no"
    ]
    return no


def complete_measure(
    core: Core,
    code: str,
    no: int,
    *,
    actor: Actor,
    comment: str | None = None,
    expected_version: int | None = None,
    request_id: str | None = None,
) -> None:
    comment = optional_text(comment, "comment", limit=MAX_LONG_TEXT)

    def apply(repo: Repository, row: IssueHead, d: WorkflowDefinition, now: datetime) -> tuple[str, dict[str, Any]]:
        if repo.records.measure(row.id, no) is None:
            raise NotFound(Text(f"问题 {code} 没有措施 {no}", f"issue {code} has no measure {no}"))
        if not repo.records.mark_measure_done(row.id, no, now, actor.id):
            raise InvalidInput(Text(f"措施 {no} 已经完成", f"measure {no} is already done"), field="no")
        return "measure_done", {"no": no}

    edit(
        core,
        code,
        actor,
        "complete_measure",
        apply,
        comment=comment,
        expected_version=expected_version,
        request_id=request_id,
    )


def add_evidence(
    core: Core,
    code: str,
    uri: str,
    sha256: str,
    *,
    actor: Actor,
    note: str = "",
    measure_no: int | None = None,
    expected_version: int | None = None,
    request_id: str | None = None,
) -> None:
    """Attach evidence by reference: the OA system keeps the file, we keep where and its hash."""
    uri = need_evidence_uri(uri)
    sha = need_sha256(sha256)
    note = need_text(note, "note", limit=1000, required=False)

    def apply(repo: Repository, row: IssueHead, d: WorkflowDefinition, now: datetime) -> tuple[str, dict[str, Any]]:
        if measure_no is not None and repo.records.measure(row.id, measure_no) is None:
            raise NotFound(Text(f"问题 {code} 没有措施 {measure_no}", f"issue {code} has no measure {measure_no}"))
        repo.records.insert_evidence(
            issue_id=row.id,
            measure_no=measure_no,
            uri=uri,
            sha256=sha,
            note=note,
            added_by=actor.id,
            added_at=now,
        )
        return "evidence_added", {"uri": uri, "sha256": sha, "measure_no": measure_no, "note": note}

    edit(core, code, actor, "add_evidence", apply, expected_version=expected_version, request_id=request_id)


def sign_off(
    core: Core,
    code: str,
    role: str,
    *,
    actor: Actor,
    comment: str | None = None,
    expected_version: int | None = None,
    request_id: str | None = None,
) -> None:
    """Sign off the issue at its current stage in ``role`` (which the actor must hold)."""
    comment = optional_text(comment, "comment", limit=2000)
    role = need_text(role, "role", limit=64)

    def apply(repo: Repository, row: IssueHead, d: WorkflowDefinition, now: datetime) -> tuple[str, dict[str, Any]]:
        for s in repo.records.signoffs(row.id):
            if s.role == role and s.stage_seq == row.state_seq:
                raise InvalidInput(
                    Text(
                        f"{role} 已在本环节签字（{s.actor_id}）",
                        f"{role} has already signed off at this stage ({s.actor_id})",
                    ),
                    field="role",
                )
        repo.records.insert_signoff(
            issue_id=row.id,
            role=role,
            actor_id=actor.id,
            state=row.state,
            stage_seq=row.state_seq,
            comment=comment or "",
            at=now,
        )
        return "signed_off", {"role": role, "state": row.state}

    edit(
        core,
        code,
        actor,
        "sign_off",
        apply,
        role=role,
        comment=comment,
        expected_version=expected_version,
        request_id=request_id,
    )


def assign(
    core: Core,
    code: str,
    *,
    actor: Actor,
    owner: str | None = None,
    lead: str | None = None,
    comment: str | None = None,
    expected_version: int | None = None,
    request_id: str | None = None,
) -> None:
    """Hand an issue to another owner or leader (staff change); recorded like every edit."""
    new_owner = need_person(owner, "owner", required=False)
    new_lead = need_person(lead, "lead", required=False)
    if new_owner is None and new_lead is None:
        raise InvalidInput(Text("请指定新的责任人或责任领导", "name a new owner or lead"), field="owner")
    comment = optional_text(comment, "comment", limit=MAX_LONG_TEXT)

    def apply(repo: Repository, row: IssueHead, d: WorkflowDefinition, now: datetime) -> tuple[str, dict[str, Any]]:
        changes = {
            k: v for k, v in (("owner", new_owner), ("lead", new_lead)) if v is not None and v != getattr(row, k)
        }
        if not changes:
            raise InvalidInput(Text("没有任何变化", "nothing would change"), field="owner")
        repo.issues.set_people(row.id, **changes)
        if todo_channels(core):  # the to-dos move with the people
            before = subject_of(row)
            repo.outbox.enqueue(
                todo_notices(
                    core,
                    d,
                    before,
                    row.state,
                    row.state,
                    row.seq + 1,
                    now,
                    after=before._replace(
                        owner=changes.get("owner", before.owner), lead=changes.get("lead", before.lead)
                    ),
                )
            )
        return "assigned", {k: {"from": getattr(row, k), "to": v} for k, v in changes.items()}

    edit(core, code, actor, "assign", apply, comment=comment, expected_version=expected_version, request_id=request_id)


def add_mechanism(
    core: Core,
    code: str,
    title: str,
    *,
    actor: Actor,
    reference: str = "",
    adopted_on: date | str | None = None,
    expected_version: int | None = None,
    request_id: str | None = None,
) -> None:
    """Record a long-term mechanism (长效机制): a rule or institution adopted (建章立制)."""
    title = need_text(title, "title")
    reference = need_text(reference, "reference", limit=200, required=False)
    adopted = need_date(adopted_on, "adopted_on")

    def apply(repo: Repository, row: IssueHead, d: WorkflowDefinition, now: datetime) -> tuple[str, dict[str, Any]]:
        repo.records.insert_mechanism(
            issue_id=row.id,
            title=title,
            reference=reference,
            adopted_on=adopted,
            added_by=actor.id,
            added_at=now,
        )
        return "mechanism_added", {"title": title, "reference": reference, "adopted_on": iso(adopted)}

    edit(core, code, actor, "add_mechanism", apply, expected_version=expected_version, request_id=request_id)
