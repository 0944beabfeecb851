"""The Engine: the embedding API an OA system calls.

A façade in the manner of SQLAlchemy's ``Session``: every public method is one transaction,
handed to the module that owns the work — ``catalog`` (workflow versions), ``rounds``,
``intake`` (adding and importing problems), ``edits``, ``firing``, ``views``, ``ledger``,
``statistics``, ``sweep`` and ``outbox`` (escalation and notices), ``migrate``,
``verification`` and ``recovery``.  Reads of an issue are checked against the actor's org
scope (``authz``); writes also against the roles the workflow's YAML allows; and every write
goes through the one write path, ``journal``, which appends a hash-chained event and bumps the
issue's version in the same transaction, so history and state never disagree and a concurrent
writer is refused rather than overwritten.

The state the modules share (database, clock, parsed definitions, chain key, notifiers and
channels) is :class:`~.core.Core`, which the Engine is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ..i18n import Text
from ..storage.backup import BackupInfo
from . import (
    calendar_files,
    catalog,
    corrections,
    deadlines,
    diagram,
    edits,
    firing,
    intake,
    ledger,
    listing,
    migrate,
    outbox,
    recovery,
    rounds,
    statistics,
    sweep,
    verification,
)
from . import diff as diff_
from . import views as views_
from .actors import Actor
from .calendar_files import RecomputeReport
from .calendars.corrections import Corrections
from .clock import DEFAULT_TZ
from .core import Core
from .definition import WorkflowDefinition
from .diff import Change
from .errors import WorkflowInvalid
from .explain import Explanation
from .history import AuditReport, ChainReport
from .inputs import add_months
from .listing import IssueFilter, IssuePage
from .migration import MigrationReport
from .results import DeliveryReport, FireResult, ImportReport, IssueView, SweepReport, WorkflowInfo


class Engine(Core):
    """zhenggai's embedding API.  ``Engine("sqlite:///zhenggai.db")`` or a PostgreSQL URL."""

    # --- schema and workflows ----------------------------------------------------------

    def init(self, *, deploy_builtin: bool = True) -> str:
        """Create or upgrade the schema, and deploy the shipped workflows (inspection and audit
        rectification; a shipped file whose version is already deployed is left as it is)."""
        return catalog.init(self, deploy_builtin=deploy_builtin)

    def validate_workflow(self, source: str | Path, *, file: str | None = None) -> WorkflowDefinition:
        return catalog.validate(source, file=file)

    def deploy_workflow(self, source: str | Path, *, actor: Actor, file: str | None = None) -> WorkflowInfo:
        """Validate and store a workflow version (``admin`` role).  Deploying identical content
        again is a no-op; a changed file must carry a higher ``version`` than the one deployed."""
        return catalog.deploy(self, source, actor=actor, file=file)

    def workflows(self) -> list[WorkflowInfo]:
        return catalog.workflows(self)

    def workflow(self, name: str, version: int | None = None) -> WorkflowDefinition:
        return catalog.workflow(self, name, version)

    def deprecate_workflow(
        self, name: str, version: int, *, actor: Actor, deprecated: bool = True, force: bool = False
    ) -> WorkflowInfo:
        """Stop new rounds and issues from using a version (``deprecated=False`` undoes it).
        Issues already on it keep it until they are migrated.  Deprecating the last usable
        version of a workflow would stop all new work on it, so that needs ``force``."""
        return catalog.deprecate(self, name, version, actor=actor, deprecated=deprecated, force=force)

    def workflow_usage(self, name: str, version: int) -> dict[str, int]:
        """How many issues and rounds stand on a version."""
        return catalog.usage(self, name, version)

    def migrate_workflow(
        self,
        name: str,
        from_version: int,
        to_version: int,
        *,
        actor: Actor,
        mapping: Mapping[str, str] | Iterable[str] | None = None,
        where: Mapping[str, Any] | None = None,
        dry_run: bool = False,
    ) -> MigrationReport:
        """Move the running issues of ``name`` from one version to another, all or nothing.

        Each moved issue gets a ``migrated`` event on its chain.  Refused, listing every
        reason, when an issue's state has no place in the new version and ``mapping`` gives
        none, or its category, severity or source is unknown there.  ``where`` narrows the
        issues (``round``, ``state``, ``category``, ``unit``); closed issues stay where they are."""
        return migrate.migrate(
            self, name, from_version, to_version, actor=actor, mapping=mapping, where=where, dry_run=dry_run
        )

    # --- rounds ------------------------------------------------------------------------

    def open_round(
        self,
        code: str,
        *,
        title: str,
        org: str,
        feedback_date: date | str,
        actor: Actor,
        source: str | None = None,
        period_months: int = 3,
        period_end: date | str | None = None,
        workflow: str = "rectification",
        tz: str = DEFAULT_TZ,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Open a round (巡视轮次); the concentrated period runs ``period_months`` from feedback.
        A ``request_id`` sent again gets the round it opened back (a retried request)."""
        return rounds.open_round(
            self, code, title=title, org=org, feedback_date=feedback_date, actor=actor, source=source,
            period_months=period_months, period_end=period_end, workflow=workflow, tz=tz, request_id=request_id)

    def rounds(self, actor: Actor | None = None) -> list[dict[str, Any]]:
        return rounds.rounds(self, actor)

    def round(self, code: str, actor: Actor | None = None) -> dict[str, Any]:
        return rounds.round_(self, code, actor)

    # --- issues ------------------------------------------------------------------------

    def add_issue(
        self,
        round_code: str,
        code: str,
        *,
        title: str,
        category: str,
        unit: str,
        owner: str,
        lead: str,
        actor: Actor,
        due_date: date | str | None = None,
        severity: str = "normal",
        description: str = "",
        source: str | None = None,
        confidential: bool = False,
        workflow: str | None = None,
        request_id: str | None = None,
    ) -> IssueView:
        """Record a problem from the list; it starts in the workflow's initial state.

        ``source`` says where it was found (the round's own source unless given);
        ``confidential`` exempts it from the public version of reports (不予公开).
        ``workflow`` puts it on another workflow than the round's (an audit finding handled
        by the audit rectification workflow inside an inspection round).  ``request_id``
        makes a retry safe: the same request by the same actor gets the issue it recorded."""
        return intake.add_issue(
            self, round_code, code, title=title, category=category, unit=unit, owner=owner, lead=lead, actor=actor,
            due_date=due_date, severity=severity, description=description, source=source, confidential=confidential,
            workflow=workflow, request_id=request_id)

    def import_issues(
        self,
        round_code: str,
        path: str | Path,
        *,
        actor: Actor,
        dry_run: bool = False,
        encoding: str | None = None,
        mapping: dict[str, str] | None = None,
        workflow: str | None = None,
        category: str | None = None,
    ) -> ImportReport:
        """Import a problem list (CSV or XLSX) into a round, all or nothing.

        Every bad row is reported with its row, its 序号 and its column, and nothing is
        written; a problem already present in the round (same code, same title and unit) is
        left alone, so importing the same file or the round's own ledger again adds nothing,
        and a code held by anything else refuses its row.  ``category`` is the category of
        every row that names none (default: the workflow's ``default_category``).  The file
        is read with no transaction open.  ``dry_run`` checks and reports what would be
        created."""
        return intake.import_issues(
            self, round_code, path, actor=actor, dry_run=dry_run, encoding=encoding, mapping=mapping, workflow=workflow,
            category=category)

    def export_ledger(
        self,
        round_code: str,
        path: str | Path,
        *,
        actor: Actor,
        fmt: str | None = None,
        states: Iterable[str] | None = None,
        categories: Iterable[str] | None = None,
        lights: Iterable[str] | None = None,
        sources: Iterable[str] | None = None,
        unit: str | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> int:
        """Write the round's ledger (整改台账) as CSV or XLSX; only issues inside the actor's
        scope (and ``unit``, if given) appear.  Returns the number of rows.  ``should_stop()`` is
        asked between chunks: when it says so the export stops (:class:`Cancelled`), the file
        left as it was."""
        return ledger.export(
            self, round_code, path, actor=actor, fmt=fmt, states=states, categories=categories, lights=lights,
            sources=sources, unit=unit, should_stop=should_stop)

    def dossier(self, round_code: str, *, actor: Actor, unit: str | None = None) -> list[dict[str, Any]]:
        """Every problem of a round inside the actor's scope with its measures and long-term
        mechanisms, in list order: what a rectification report is written from."""
        return views_.dossier(self, round_code, actor=actor, unit=unit)

    def stats(
        self,
        round_code: str,
        *,
        actor: Actor,
        by: str | None = None,
        as_of: datetime | date | str | None = None,
        public: bool = False,
    ) -> dict[str, Any]:
        """Statistics for a round within the actor's scope; the burn-down replays the history,
        so ``as_of`` a past date reproduces that day's numbers for the weeks up to it.
        ``public`` leaves out the problems exempt from disclosure, for what is published."""
        return statistics.stats(self, round_code, actor=actor, by=by, as_of=as_of, public=public)

    def issue(self, code: str, actor: Actor) -> IssueView:
        """An issue with its measures, evidence, sign-offs, mechanisms and, for this actor, each
        trigger from its state: available, or the reasons it is not."""
        return views_.issue(self, code, actor)

    def issues(
        self,
        actor: Actor,
        *,
        round_code: str | None = None,
        states: Iterable[str] | None = None,
        categories: Iterable[str] | None = None,
        owner: str | None = None,
        lights: Iterable[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[IssueView]:
        """Issues inside the actor's scope, filtered; paged by ``limit``/``offset``."""
        return views_.issues(
            self, actor, round_code=round_code, states=states, categories=categories, owner=owner, lights=lights,
            limit=limit, offset=offset)

    def issue_page(
        self, actor: Actor, where: IssueFilter | None = None, *, after: str = "", limit: int = 50, sort: str = "id"
    ) -> IssuePage:
        """A page of issues inside the actor's scope matching ``where``, in ``sort`` order (``id``
        or ``due``) after the cursor ``after`` (keyset: as fast on the thousandth page as on the
        first; ``next_after`` is the next page's cursor)."""
        return listing.page(self, actor, where or IssueFilter(), after=after, limit=limit, sort=sort)

    def todo(self, actor: Actor, *, limit: int = 200) -> list[IssueView]:
        """The issues on which ``actor`` has a step available now, by light then deadline."""
        return listing.todo(self, actor, limit=limit)

    def workflow_diagram(self, name: str, version: int | None = None, *, lang: str = "zh") -> str:
        """The mermaid state diagram of a deployed workflow version."""
        return diagram.mermaid(self.workflow(name, version), lang)

    def workflow_outline(self, name: str, version: int | None = None) -> dict[str, Any]:
        """A deployed version's states, roles, transitions with their guards, and ladder."""
        return diagram.describe(self.workflow(name, version))

    def guard_docs(self) -> dict[str, str]:
        """Each registered guard's name and what it checks, in words."""
        return diagram.guard_docs()

    def workflow_diff(self, name: str, a: int, b: int) -> list[Change]:
        """What changed from version ``a`` to version ``b`` of a workflow."""
        return diff_.diff(self.workflow(name, a), self.workflow(name, b))

    # --- edits that are not transitions -------------------------------------------------

    def add_measure(
        self,
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
        """Add a rectification measure; returns its number within the issue.

        Every edit takes ``request_id`` as :meth:`fire` does: the same id again (a retry)
        answers with the first attempt's write and changes nothing more."""
        return edits.add_measure(
            self, code, text, actor=actor, owner=owner, due_date=due_date, target=target,
            expected_version=expected_version, request_id=request_id)

    def complete_measure(
        self,
        code: str,
        no: int,
        *,
        actor: Actor,
        comment: str | None = None,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        edits.complete_measure(
            self, code, no, actor=actor, comment=comment, expected_version=expected_version, request_id=request_id
        )

    def add_evidence(
        self,
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
        edits.add_evidence(
            self, code, uri, sha256, actor=actor, note=note, measure_no=measure_no, expected_version=expected_version,
            request_id=request_id)

    def sign_off(
        self,
        code: str,
        role: str,
        *,
        actor: Actor,
        comment: str | None = None,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> None:
        """Sign off the issue at its current stage in ``role`` (which the actor must hold)."""
        edits.sign_off(
            self, code, role, actor=actor, comment=comment, expected_version=expected_version, request_id=request_id
        )

    def assign(
        self,
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
        edits.assign(
            self, code, actor=actor, owner=owner, lead=lead, comment=comment, expected_version=expected_version,
            request_id=request_id)

    def correct_issue(
        self,
        code: str,
        *,
        actor: Actor,
        reason: str,
        confidential: bool | None = None,
        source: str | None = None,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Correct how a problem was recorded — disclosed or confidential (不予公开), and its
        source — with a reason, on the chain; closed issues too.  Returns ``{field: {from, to}}``."""
        return corrections.correct_issue(
            self, code, actor=actor, reason=reason, confidential=confidential, source=source,
            expected_version=expected_version, request_id=request_id)

    def add_mechanism(
        self,
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
        edits.add_mechanism(
            self, code, title, actor=actor, reference=reference, adopted_on=adopted_on,
            expected_version=expected_version, request_id=request_id)

    # --- deadline changes (延期申请) ----------------------------------------------------------

    def request_extension(
        self,
        code: str,
        due_date: date | str,
        *,
        reason: str,
        actor: Actor,
        category: str | None = None,
        measure_dates: Mapping[int | str, date | str] | None = None,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> int:
        """Ask for a later deadline (the workflow's ``request_extension`` role, the owner), with
        a reason; ``category`` recategorises the item in the same change (an immediate item
        cannot otherwise go past the concentrated period), ``measure_dates`` moves measures'
        dates with it.  Refused with every rule the new date breaks; returns the request's number."""
        return deadlines.request(
            self, code, actor=actor, due_date=due_date, reason=reason, category=category, measure_dates=measure_dates,
            expected_version=expected_version, request_id=request_id)

    def decide_extension(
        self,
        code: str,
        *,
        approve: bool,
        actor: Actor,
        comment: str | None = None,
        expected_version: int | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Approve or refuse (with its reason) the issue's pending deadline change (the
        workflow's ``decide_extension`` role); an approval moves the deadline, category and
        measures' dates it asked for, checked again against the rules."""
        return deadlines.decide(
            self, code, actor=actor, approve=approve, comment=comment, expected_version=expected_version,
            request_id=request_id)

    def deadline_changes(self, code: str, actor: Actor) -> list[dict[str, Any]]:
        """An issue's deadline changes, asked and decided, in order."""
        return deadlines.changes(self, code, actor)

    # --- firing triggers ----------------------------------------------------------------

    def fire(
        self,
        code: str,
        trigger: str,
        *,
        actor: Actor,
        role: str | None = None,
        comment: str | None = None,
        request_id: str | None = None,
        expected_version: int | None = None,
    ) -> FireResult:
        """Move an issue by ``trigger``.  Refused (with every failed rule) changes nothing.

        ``request_id`` makes a retried call safe: the same id returns the first result and moves
        nothing again.  ``expected_version`` refuses the call if the issue changed since read.
        """
        return firing.fire(
            self, code, trigger, actor=actor, role=role, comment=comment, request_id=request_id,
            expected_version=expected_version)

    def explain(self, code: str, trigger: str | None = None, *, actor: Actor) -> Explanation:
        """Why ``code`` can or cannot move (by ``trigger``, or by every trigger leaving its
        state): each role, guard, the period and the version, judged as a fire would."""
        return views_.explain(self, code, trigger, actor=actor)

    def history(self, code: str, actor: Actor) -> list[dict[str, Any]]:
        return views_.history(self, code, actor)

    # --- escalation sweep and notices ----------------------------------------------------

    def sweep(
        self,
        as_of: datetime | date | str | None = None,
        *,
        dry_run: bool = False,
        batch: int = 200,
        should_stop: Callable[[], bool] | None = None,
        actor: Actor | None = None,
        backdate: bool = False,
    ) -> SweepReport:
        """Apply every escalation rule whose time has come, each at most once per issue and
        stage; write its events and notices in one transaction per batch.

        ``actor``, when given, must be an operator (``system`` or ``admin`` over every unit).
        A sweep ``as_of`` a future moment may only be a ``dry_run`` (which works out the same
        and rolls back); one as of a past moment dates its escalations then, so it must be a
        dry run or declared ``backdate`` (each event then records when it was entered).
        ``should_stop()`` is asked between batches (a scheduler shutting down)."""
        return sweep.sweep(
            self, as_of, dry_run=dry_run, batch=batch, should_stop=should_stop, actor=actor, backdate=backdate
        )

    def deliver(
        self,
        *,
        limit: int = 100,
        now: datetime | None = None,
        lease: timedelta = timedelta(minutes=5),
        should_stop: Callable[[], bool] | None = None,
    ) -> DeliveryReport:
        """Send due notices through their channel's notifier; retry failures with backoff
        (at least once: see ``outbox.deliver``)."""
        return outbox.deliver(self, limit=limit, now=now, lease=lease, should_stop=should_stop)

    # --- calendar files -------------------------------------------------------------------

    def use_calendar_file(self, path: str | Path | None) -> Corrections:
        """Count Chinese working days with an office's calendar file (``None``: the package
        alone); a wrong file is refused whole (see ``calendars.corrections``)."""
        return calendar_files.use_file(path)

    def calendar_year(self, year: int) -> dict[str, Any]:
        """Each day of ``year``: a working day or not, known (file, package) or estimated."""
        return calendar_files.year(year)

    def recompute_schedules(self, *, since: date | None = None, batch: int = 500) -> RecomputeReport:
        """After a calendar change: the light and next check of every issue the change may
        move, worked out again and stored where they differ."""
        return calendar_files.recompute(self, since=since, batch=batch)

    def outbox(self, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return outbox.listing(self, status=status, limit=limit)

    def recent_escalations(self, limit: int = 50) -> list[dict[str, Any]]:
        """The escalations the latest sweeps applied (issue, rule, action, when), newest first."""
        return outbox.recent_escalations(self, limit)

    def retry_dead(self, ids: list[int] | None = None) -> int:
        """Put dead notices back in the queue (all of them, or these ids)."""
        return outbox.retry_dead(self, ids)

    # --- verification ---------------------------------------------------------------------

    def verify(self, code: str, actor: Actor) -> ChainReport:
        """Recompute the issue's hash chain and check its head and state against the issue row."""
        return verification.verify(self, code, actor)

    def audit_verify(
        self, actor: Actor | None = None, *, issue_chunk: int = 1000, event_chunk: int = 20_000
    ) -> AuditReport:
        """Verify every issue's chain and records over the whole database (``verify`` for each
        issue), and find events that point to no issue.

        An operator's check: no actor, or one with the ``system`` or ``admin`` role over every
        unit (scope ``*``).  One read transaction (a snapshot: on PostgreSQL repeatable read),
        so writers carry on and the report is of one consistent moment."""
        return verification.audit(self, actor, issue_chunk=issue_chunk, event_chunk=event_chunk)

    # --- backup and restore (SQLite) -------------------------------------------------------

    def backup(self, path: str | Path, *, force: bool = False) -> BackupInfo:
        """An online copy of the SQLite database at ``path`` (see storage/backup.py)."""
        return recovery.backup(self, path, force=force)

    def restore(
        self, path: str | Path, *, force: bool = False, checks: Sequence[Callable[[Core], Text | None]] = ()
    ) -> BackupInfo:
        """Replace the SQLite database's contents with a checked backup, upgraded if older.
        Refused if the database holds data, unless ``force``.  ``checks`` are asked of the
        staged copy before it goes live, after its history verified (the HTTP layer checks its
        clients' sealed grants so); each returns why it is refused, or None."""
        return recovery.restore(self, path, force=force, checks=checks)


__all__ = ["Engine", "FireResult", "IssueView", "WorkflowInfo", "WorkflowInvalid", "add_months"]
