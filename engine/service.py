"""The Engine: the embedding API an OA system calls, and the one place that joins storage,
state machines and guards.

Every public method is one transaction.  Reads of an issue are checked against the actor's
org scope; writes also against the roles the workflow's YAML allows.  Every write appends one
hash-chained event and bumps the issue's version in the same transaction, so history and state
can never disagree and a concurrent writer is refused rather than overwritten.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection
from sqlalchemy.exc import DataError, IntegrityError

from ..i18n import Text
from ..storage import backup as storage_backup
from ..storage.backup import BackupInfo
from ..storage.database import Database, DatabaseBusy, DatabaseUnavailable
from ..storage.repository import Duplicate, Repository, StaleVersion
from .actors import ALL_ORGS, SYSTEM, Actor, _has_dot_segment, _hostile_text, within
from .clock import DEFAULT_TZ, Clock, SystemClock, local_date, to_utc
from .definition import (
    BUILTIN_WORKFLOWS,
    WorkflowDefinition,
    WorkflowInvalid,
    builtin_path,
    load_definition,
    parse_definition,
)
from .errors import (
    Busy,
    ConcurrentUpdate,
    Forbidden,
    ImportInvalid,
    InvalidInput,
    NotFound,
    Refused,
    StorageUnavailable,
    Unavailable,
)
from .escalation import DueRule, EscalationFacts, evaluator_for
from .explain import Explanation, explain_transition, not_here
from .facts import GuardContext, IssueFacts, MeasureFacts, RoundFacts, SignoffFacts
from .history import GENESIS, AuditReport, ChainKey, ChainReport, compare_records, event_hash, verify_chain
from .machine import Outcome, machine_for
from .migration import WHERE_KEYS, MigrationReport, parse_mapping, plan_migration
from .notifiers import DeliveryFailed, Notice, NotifierRegistry, RetryPolicy

log = logging.getLogger("zhenggai.engine")

#: sources for a workflow deployed before workflows declared their own (``sources:``)
LEGACY_SOURCES = {
    "inspection": Text("巡视", "inspection"),
    "audit": Text("审计", "audit"),
    "special_check": Text("专项检查", "special check"),
}


def sources_of(d: WorkflowDefinition) -> Mapping[str, Text]:
    return d.sources or LEGACY_SOURCES


def _need_source(d: WorkflowDefinition, source: str) -> str:
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


@dataclass(frozen=True)
class NewIssue:
    """A checked problem about to be stored, typed in or imported."""

    code: str
    title: str
    description: str
    category: str
    severity: str
    unit: str
    owner: str
    lead: str
    due: date | None
    source: str
    confidential: bool = False
    measures: list[dict[str, Any]] = field(default_factory=list)


def _round_source(d: WorkflowDefinition, r: Any) -> str:
    """A problem comes from its round's source unless it says otherwise."""
    return r.source if r.source in sources_of(d) else next(iter(sources_of(d)))


def source_of(row: Any) -> str:
    """An issue's source; one stored before sources existed has its round's."""
    return row.source or row.round_source


CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,63}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
EVIDENCE_SCHEMES = frozenset({"https", "http", "oa", "s3"})
MAX_TEXT = 500
MAX_LONG_TEXT = 20_000


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TriggerOption:
    trigger: str
    label: Text
    dest: str
    available: bool
    roles: list[str]
    requires: list[str]
    reasons: list[tuple[str, Text]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "label": self.label.to_dict(),
            "dest": self.dest,
            "available": self.available,
            "roles": self.roles,
            "requires": self.requires,
            "reasons": [{"rule": r, "reason": t.to_dict()} for r, t in self.reasons],
        }


@dataclass(frozen=True)
class IssueView:
    code: str
    round: str
    workflow: str
    workflow_version: int
    title: str
    description: str
    category: str
    severity: str
    unit: str
    owner: str | None
    lead: str | None
    due_date: date | None
    state: str
    state_label: Text
    category_label: Text
    severity_label: Text
    state_entered_at: datetime
    next_check_at: datetime | None
    light: str | None
    light_label: Text | None
    escalation_level: int
    recurrence_count: int
    version: int
    source: str = ""
    source_label: Text | None = None
    confidential: bool = False
    measures: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    signoffs: list[dict[str, Any]] = field(default_factory=list)
    mechanisms: list[dict[str, Any]] = field(default_factory=list)
    triggers: list[TriggerOption] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["state_label"] = self.state_label.to_dict()
        d["category_label"] = self.category_label.to_dict()
        d["severity_label"] = self.severity_label.to_dict()
        d["due_date"] = _iso(self.due_date)
        d["state_entered_at"] = _iso(self.state_entered_at)
        d["next_check_at"] = _iso(self.next_check_at)
        d["light_label"] = self.light_label.to_dict() if self.light_label else None
        d["source_label"] = self.source_label.to_dict() if self.source_label else None
        d["triggers"] = [t.to_dict() for t in self.triggers]
        return _jsonable(d)


@dataclass(frozen=True)
class FireResult:
    code: str
    trigger: str
    source: str
    dest: str
    seq: int
    version: int
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WorkflowInfo:
    name: str
    version: int
    digest: str
    deployed_at: datetime
    deployed_by: str
    deprecated: bool
    created: bool = False

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, (date, datetime)) else v


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, Text):
        return v.to_dict()
    return _iso(v)


# --- input checks ----------------------------------------------------------------------


def _need_text(value: Any, fld: str, *, limit: int = MAX_TEXT, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(Text(f"{fld} 不能为空", f"{fld} must not be empty"), field=fld)
        return ""
    if not isinstance(value, str):
        raise InvalidInput(Text(f"{fld} 应为文本", f"{fld} must be text"), field=fld)
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()  # form text arrives with CRLF
    if len(value) > limit:
        raise InvalidInput(
            Text(f"{fld} 过长：{len(value)} 字，上限 {limit}", f"{fld} is too long: {len(value)} > {limit}"), field=fld
        )
    if any(ch not in "\n\t" and _hostile_text(ch) for ch in value) or not _encodable(value):
        raise InvalidInput(Text(f"{fld} 含有控制字符", f"{fld} contains control characters"), field=fld)
    return value


def _encodable(value: str) -> bool:
    """Whether text can be stored at all: a lone surrogate (from a broken UTF-16 decode) has
    no UTF-8 form, and the database would refuse it half-way through a write."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _need_unit(value: Any) -> str:
    """An org path, stored normalised (``/省局 / 财务处/`` is ``省局/财务处``) so that scope
    checks in SQL and in Python agree."""
    text = _need_text(value, "unit")
    parts = [p.strip() for p in text.split("/")]
    path = "/".join(p for p in parts if p)
    if not path:
        raise InvalidInput(Text("责任部门不能为空", "unit must not be empty"), field="unit")
    if _has_dot_segment(path):
        raise InvalidInput(
            Text(f"责任部门 {path} 不能含 . 或 .. 段", f"unit {path} must not have . or .. segments"), field="unit"
        )
    return path


def _uri_hostile(uri: str) -> bool:
    """Whether an evidence URI hides something: whitespace or control characters, or a ``..``
    segment however written (``%2e%2e``, ``%252e%252e``, ``..\\``, ``..;``), in the path or
    as the host."""
    text = uri
    for _ in range(4):  # percent-decoding until nothing changes: double encoding is one more step
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    else:
        return True  # encoded more deeply than any real URI is
    if any(ch.isspace() or _hostile_text(ch) for ch in uri + text):
        return True
    rest = text.split(":", 1)[-1].replace("\\", "/")
    return any(seg.split(";", 1)[0].strip() == ".." for seg in rest.split("/"))


def _need_code(value: Any, fld: str) -> str:
    if not isinstance(value, str) or not CODE_RE.match(value):
        raise InvalidInput(
            Text(
                f"{fld} {value!r} 不合规：须为 1-64 位字母、数字或 . _ - /",
                f"{fld} {value!r} must be 1-64 letters, digits or . _ - /",
            ),
            field=fld,
        )
    return value


def _need_date(value: Any, fld: str, *, required: bool = False) -> date | None:
    if value is None or value == "":
        if required:
            raise InvalidInput(Text(f"{fld} 不能为空", f"{fld} must not be empty"), field=fld)
        return None
    if isinstance(value, datetime):
        return _bounded_date(value.date(), fld)
    if isinstance(value, date):
        return _bounded_date(value, fld)
    try:
        parsed = date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(
            Text(f"{fld} {value!r} 不是日期（应为 YYYY-MM-DD）", f"{fld} {value!r} is not a date (YYYY-MM-DD)"),
            field=fld,
        ) from None
    return _bounded_date(parsed, fld)


def _bounded_date(value: date, fld: str) -> date:
    if not 1900 <= value.year <= 2200:
        raise InvalidInput(
            Text(f"{fld} {value} 超出合理范围（1900-2200 年）", f"{fld} {value} is out of range (1900-2200)"), field=fld
        )
    return value


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (3 months after 11-30 is 02-28)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


# --- the engine ------------------------------------------------------------------------


class _Tx:
    """An engine call's transaction: storage trouble becomes the engine's own errors."""

    __slots__ = ("inner",)

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __enter__(self) -> Connection:
        try:
            return self.inner.__enter__()
        except (DatabaseBusy, DatabaseUnavailable) as exc:
            raise _storage_error(exc) from None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            self.inner.__exit__(exc_type, exc, tb)
        except (DatabaseBusy, DatabaseUnavailable) as failure:
            raise _storage_error(failure) from None
        if isinstance(exc, (DataError, OverflowError)):  # rolled back above; the caller's input is at fault
            raise InvalidInput(
                Text(
                    "输入的值超出存储允许的范围（数字过大，或文本含 NUL 字符）",
                    "a value is out of range for storage (a number too large, or text with a NUL character)",
                )
            ) from None


def _storage_error(exc: Exception) -> Exception:
    if isinstance(exc, DatabaseBusy):
        return Busy(
            Text(
                "数据库正忙（其他操作长时间占用），未做任何修改，请稍后重试",
                "the database is busy (held by other writers); nothing was changed, retry later",
            )
        )
    return StorageUnavailable(Text(f"无法连接数据库：{exc}", f"cannot reach the database: {exc}"))


ACTION_LABELS = {
    "remind": Text("催办提醒", "reminder"),
    "warn": Text("告诫", "caution"),
    "escalate": Text("挂牌督办", "supervised handling"),
    "elevate": Text("提级办理、问责", "raised a level"),
    "notify": Text("通知", "notice"),
}


TODO_CHANNEL = "oa_todo"
FEED_CHANNEL = "webhook"  # besides escalation notices, the webhook carries every event


@dataclass
class ImportReport:
    dry_run: bool
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _DryRunImport(Exception):
    def __init__(self, report: ImportReport) -> None:
        self.report = report


class _DryRun(Exception):
    """Raised inside a dry-run sweep's transaction so that everything it did rolls back."""


@dataclass
class SweepReport:
    as_of: datetime
    dry_run: bool
    checked: int = 0
    batches: int = 0
    fired: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": _iso(self.as_of),
            "dry_run": self.dry_run,
            "checked": self.checked,
            "batches": self.batches,
            "fired": self.fired,
            "failed": self.failed,
        }


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _escalation_facts(row: Any) -> EscalationFacts:
    return EscalationFacts(
        row.state,
        row.category,
        row.severity,
        row.state_entered_at,
        row.last_activity_at,
        row.due_date,
        row.round_tz,
        _fired(row.stage_fired),
        row.final_deadline,
    )


class Engine:
    """zhenggai's embedding API.  ``Engine("sqlite:///zhenggai.db")`` or a PostgreSQL URL."""

    def __init__(
        self, db: str | Database | None = None, *, clock: Clock | None = None, chain_key: str | bytes | None = None
    ) -> None:
        self.db = db if isinstance(db, Database) else Database(db)
        self.clock: Clock = clock or SystemClock()
        self.notifiers = NotifierRegistry()
        self.channels: list[str] = ["log"]  # which notifiers each notice goes to
        self.retry = RetryPolicy()
        secret = chain_key if chain_key is not None else os.environ.get("ZHENGGAI_CHAIN_KEY")
        self.chain_key: ChainKey | None = ChainKey.from_secret(secret) if secret else None
        self._defs: dict[int, tuple[WorkflowDefinition, str, int]] = {}
        self._defs_lock = threading.Lock()

    def _write(self) -> _Tx:
        return _Tx(self.db.write())

    def transaction(self, *, write: bool = False) -> _Tx:
        """A transaction on the engine's database for layers over it (the HTTP service keeps
        its clients and idempotency keys there), with storage trouble reported as the
        engine's own errors.  Yields a connection."""
        return self._write() if write else self._read()

    def _read(self) -> _Tx:
        return _Tx(self.db.read())

    @contextmanager
    def _storage_errors(self) -> Iterator[None]:
        try:
            yield
        except (DatabaseBusy, DatabaseUnavailable) as exc:
            raise _storage_error(exc) from None

    # --- schema and workflows ----------------------------------------------------------

    def init(self, *, deploy_builtin: bool = True) -> str:
        """Create or upgrade the schema, and deploy the shipped workflows (inspection and audit
        rectification; a shipped file whose version is already deployed is left as it is)."""
        with self._storage_errors():
            rev = self.db.upgrade()
        if deploy_builtin:
            for name in BUILTIN_WORKFLOWS:
                shipped = load_definition(builtin_path(name))
                with self._read() as conn:
                    latest = Repository(conn).workflow(name)
                if latest is None or latest.version < shipped.version:  # never over an administrator's own
                    self.deploy_workflow(builtin_path(name), actor=SYSTEM)
        return rev

    def validate_workflow(self, source: str | Path, *, file: str | None = None) -> WorkflowDefinition:
        if isinstance(source, Path):
            return load_definition(source)
        return parse_definition(source, file or "<workflow>")

    @staticmethod
    def _insert_once(insert: Any, exists: Text, **values: Any) -> int:
        """Insert a uniquely keyed row; a twin inserted concurrently is the same refusal as one
        found by the check before (on PostgreSQL two transactions can both pass that check)."""
        try:
            return int(insert(**values))
        except Duplicate:
            raise InvalidInput(exists, field="code") from None

    def deploy_workflow(self, source: str | Path, *, actor: Actor, file: str | None = None) -> WorkflowInfo:
        """Validate and store a workflow version (``admin`` role).  Deploying identical content
        again is a no-op; a changed file must carry a higher ``version`` than the one deployed."""
        self._need_admin(actor, Text("部署", "deploy"))
        actor_id = actor.id
        d = self.validate_workflow(source, file=file)
        try:
            return self._deploy(d, actor_id)
        except Duplicate:  # deployed concurrently by another process: the same answer as a rerun
            return self._deploy(d, actor_id)

    def _deploy(self, d: WorkflowDefinition, actor_id: str) -> WorkflowInfo:
        now = self.clock.now()
        with self._write() as conn:
            repo = Repository(conn)
            same = repo.workflow(d.name, d.version)
            if same is not None:
                if same.digest == d.digest:
                    return _wf_info(same)
                latest = repo.workflow(d.name)
                raise InvalidInput(
                    Text(
                        f"工作流 {d.name} 第 {d.version} 版已部署且内容不同；请把 version 改为 {latest.version + 1}",
                        f"workflow {d.name} version {d.version} is deployed with other content; set version to {latest.version + 1}",
                    ),
                    field="version",
                )
            latest = repo.workflow(d.name)
            if latest is not None and latest.version > d.version:
                raise InvalidInput(
                    Text(
                        f"工作流 {d.name} 已有第 {latest.version} 版，不能部署更低的第 {d.version} 版",
                        f"workflow {d.name} already has version {latest.version}; cannot deploy older version {d.version}",
                    ),
                    field="version",
                )
            repo.insert_workflow(
                name=d.name,
                version=d.version,
                digest=d.digest,
                source=d.source,
                deployed_at=now,
                deployed_by=actor_id,
                deprecated=False,
            )
            row = repo.workflow(d.name, d.version)
        info = _wf_info(row)
        return WorkflowInfo(**{**asdict(info), "created": True})

    def workflows(self) -> list[WorkflowInfo]:
        with self._read() as conn:
            return [_wf_info(r) for r in Repository(conn).workflow_versions()]

    def workflow(self, name: str, version: int | None = None) -> WorkflowDefinition:
        if version is not None and not (isinstance(version, int) and 1 <= version <= 1_000_000):
            raise InvalidInput(Text("版本号应为 1-1000000", "a version is 1 to 1,000,000"), field="version")
        with self._read() as conn:
            row = Repository(conn).workflow(name, version)
        if row is None:
            what = f"{name} v{version}" if version else name
            raise NotFound(Text(f"没有已部署的工作流 {what}", f"no deployed workflow {what}"))
        return self._definition_from_row(row)

    def _definition_from_row(self, row: Any) -> WorkflowDefinition:
        cached = self._defs.get(row.id)
        if cached is None:
            with self._defs_lock:
                cached = self._defs.get(row.id)
                if cached is None:
                    d = parse_definition(row.source, f"{row.name} v{row.version}")
                    cached = self._defs[row.id] = (d, row.name, row.version)
        return cached[0]

    def _definition(self, repo: Repository, workflow_id: int) -> WorkflowDefinition:
        cached = self._defs.get(workflow_id)
        if cached is not None:
            return cached[0]
        row = repo.workflow_by_id(workflow_id)
        return self._definition_from_row(row)

    def deprecate_workflow(
        self, name: str, version: int, *, actor: Actor, deprecated: bool = True, force: bool = False
    ) -> WorkflowInfo:
        """Stop new rounds and issues from using a version (``deprecated=False`` undoes it).
        Issues already on it keep it until they are migrated.  Deprecating the last usable
        version of a workflow would stop all new work on it, so that needs ``force``."""
        self._need_admin(actor, Text("停用", "deprecate"))
        with self._write() as conn:
            repo = Repository(conn)
            # every version of the name locked: two administrators deprecating the last two
            # usable versions at once must not both see the other's as still usable
            versions = repo.workflow_versions(name, lock=True)
            row = next((w for w in versions if w.version == version), None)
            if row is None:
                raise NotFound(Text(f"没有已部署的工作流 {name} v{version}", f"no deployed workflow {name} v{version}"))
            others = [w for w in versions if not w.deprecated and w.id != row.id]
            if deprecated and not row.deprecated and not others and not force:
                raise Refused(
                    Text(
                        f"{name} 第 {version} 版是唯一可用的版本；停用后将不能新开轮次或录入问题",
                        f"{name} v{version} is the only usable version; deprecating it stops all new rounds and issues",
                    ),
                    [
                        (
                            "last_version",
                            Text(
                                "先部署新版本，或确需停用时使用 force（--force）",
                                "deploy a newer version first, or use force (--force) if that is intended",
                            ),
                        )
                    ],
                )
            repo.set_deprecated(row.id, deprecated)
            return _wf_info(repo.workflow(name, version))

    def workflow_usage(self, name: str, version: int) -> dict[str, int]:
        """How many issues and rounds stand on a version."""
        with self._read() as conn:
            repo = Repository(conn)
            row = repo.workflow(name, version)
            if row is None:
                raise NotFound(Text(f"没有已部署的工作流 {name} v{version}", f"no deployed workflow {name} v{version}"))
            d = self._definition_from_row(row)
            return repo.workflow_in_use(row.id, [st.name for st in d.states.values() if not st.final])

    @staticmethod
    def _need_admin(actor: Actor, what: Text) -> None:
        if not actor.roles & {"admin", "system"}:
            raise Refused(
                Text(
                    f"只有管理员（admin）可以{what.zh}工作流", f"only an administrator (admin) may {what.en} workflows"
                ),
                [("role", Text(f"{actor.id} 不具有 admin 角色", f"{actor.id} does not hold role admin"))],
            )

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
        self._need_admin(actor, Text("迁移", "migrate"))
        for fld, v in (("from", from_version), ("to", to_version)):
            if not (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1_000_000):
                raise InvalidInput(Text("版本号应为 1-1000000", "a version is 1 to 1,000,000"), field=fld)
        moves = parse_mapping(mapping)
        filters = self._migration_filters(where or {}, actor)
        report = MigrationReport(name, from_version, to_version, dry_run)
        now = self.clock.now()
        with self._write() as conn:
            repo = Repository(conn)
            old_row, new_row = repo.workflow(name, from_version), repo.workflow(name, to_version)
            for v, row in ((from_version, old_row), (to_version, new_row)):
                if row is None:
                    raise NotFound(Text(f"没有已部署的工作流 {name} v{v}", f"no deployed workflow {name} v{v}"))
            assert old_row is not None and new_row is not None
            if old_row.id == new_row.id:
                raise InvalidInput(Text("迁移的起止版本相同", "from and to are the same version"), field="to")
            if new_row.deprecated:
                raise InvalidInput(
                    Text(
                        f"第 {to_version} 版已停用，不能迁入",
                        f"version {to_version} is deprecated; nothing may move onto it",
                    ),
                    field="to",
                )
            old, new = self._definition_from_row(old_row), self._definition_from_row(new_row)
            live = [s.name for s in old.states.values() if not s.final]
            census = repo.migration_census(old_row.id, live, **filters)
            targets, reasons = plan_migration(old, new, moves, census)
            if reasons:
                raise Refused(
                    Text(
                        f"不能把 {name} 从第 {from_version} 版迁移到第 {to_version} 版，未做任何改动",
                        f"cannot migrate {name} from version {from_version} to {to_version}; nothing was changed",
                    ),
                    reasons,
                )
            if dry_run:
                for state, _c, _s, _src, count, _ex in census:
                    key = (state, targets[state])
                    report.moves[key] = report.moves.get(key, 0) + count
                return report
            report.moves = self._move_issues(repo, old, new, old_row.id, new_row.id, targets, actor, now, filters)
        return report

    def _migration_filters(self, where: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
        filters: dict[str, Any] = {"round_codes": None, "states": None, "categories": None, "unit_prefixes": None}
        for key, value in where.items():
            if key not in WHERE_KEYS:
                raise InvalidInput(
                    Text(
                        f"未知的筛选条件 {key}（可用：{', '.join(WHERE_KEYS)}）",
                        f"unknown filter {key} (known: {', '.join(WHERE_KEYS)})",
                    ),
                    field="where",
                )
            values = [value] if isinstance(value, str) else list(value)
            if not values or not all(isinstance(v, str) and v.strip() for v in values):
                raise InvalidInput(Text(f"筛选条件 {key} 没有给出值", f"filter {key} is given no value"), field="where")
            if key == "unit":
                values = [_need_unit(v) for v in values]
            filters[WHERE_KEYS[key]] = values
        if "*" not in actor.scope:  # an administrator of some units migrates only those
            asked = filters["unit_prefixes"]
            if asked is None:
                filters["unit_prefixes"] = list(actor.scope)
            else:  # where an asked unit and a scope path overlap, the deeper of the two
                filters["unit_prefixes"] = _overlap(asked, actor.scope)
                if not filters["unit_prefixes"]:
                    raise Forbidden(
                        Text(
                            f"所选单位不在 {actor.id} 的组织范围内",
                            f"the units asked are outside {actor.id}'s org scope",
                        )
                    )
        return filters

    def _move_issues(
        self,
        repo: Repository,
        old: WorkflowDefinition,
        new: WorkflowDefinition,
        old_id: int,
        new_id: int,
        targets: Mapping[str, str],
        actor: Actor,
        now: datetime,
        filters: Mapping[str, Any],
    ) -> dict[tuple[str, str], int]:
        """Move the issues, checking each locked row again: an issue added or changed after
        the census (PostgreSQL reads each statement afresh) must pass the same checks."""
        moved: dict[tuple[str, str], int] = {}
        live = [s.name for s in old.states.values() if not s.final]
        policy = evaluator_for(new)
        role = "admin" if "admin" in actor.roles else "system"
        data = {"workflow": new.name, "from_version": old.version, "to_version": new.version}
        for chunk in repo.migration_chunks(old_id, live, **filters):
            updates: list[dict[str, Any]] = []
            evs: list[dict[str, Any]] = []
            feed: list[dict[str, Any]] = []
            for row in chunk:
                dest = targets.get(row.state)
                unknown = (
                    row.category not in new.categories
                    or row.severity not in new.severities
                    or (row.source and row.source not in new.sources)
                )
                if dest is None or unknown:  # added or moved since the census by a writer that committed first
                    raise ConcurrentUpdate(
                        Text(
                            f"问题 {row.code} 在迁移时被修改，请重试",
                            f"issue {row.code} changed during the migration; retry",
                        )
                    )
                seq = row.seq + 1
                ev = self._event_values(
                    row.code,
                    row.last_hash,
                    seq,
                    "migrated",
                    actor,
                    role,
                    now,
                    from_state=row.state,
                    to_state=dest,
                    data=data,
                )
                light, check_at = policy.schedule(replace(_escalation_facts(row), state=dest), now)
                updates.append(
                    dict(
                        p_id=row.id,
                        p_version=row.version,
                        workflow_id=new_id,
                        state=dest,
                        seq=seq,
                        last_hash=ev["hash"],
                        version=row.version + 1,
                        light=light,
                        next_check_at=check_at,
                    )
                )
                evs.append(dict(ev, issue_id=row.id))
                moved[(row.state, dest)] = moved.get((row.state, dest), 0) + 1
                if FEED_CHANNEL in self.channels:
                    feed.append(self._feed_notice(row, ev, dest, now))
            try:
                repo.move_issues(updates)
            except StaleVersion:
                raise ConcurrentUpdate(
                    Text("迁移时有问题被同时修改，请重试", "issues changed during the migration; retry")
                ) from None
            repo.insert_events(evs)
            if feed:
                repo.enqueue(feed)
        return moved

    def _usable(self, repo: Repository, name: str) -> Any:
        """The version of ``name`` new work goes on: the newest that is not deprecated."""
        wf = repo.usable_workflow(name)
        if wf is None:
            hint = (
                Text("（各版本均已停用）", " (every version is deprecated)")
                if repo.workflow(name) is not None
                else Text(
                    "（先运行 zhenggai init 或 workflow deploy）", " (run zhenggai init or workflow deploy first)"
                )
            )
            raise NotFound(
                Text(f"没有可用的工作流 {name}{hint.zh}", f"no usable workflow {name}{hint.en}"),
            )
        return wf

    def _issue_workflow(self, repo: Repository, r: Any, name: str | None) -> tuple[int, WorkflowDefinition]:
        """The workflow version a new issue of round ``r`` goes on: the round's own version, or
        the newest usable version of ``name`` when the issue follows another workflow or the
        round's version has been deprecated since the round opened."""
        wf = repo.workflow_by_id(r.workflow_id)
        if name is not None and name != wf.name:
            wf = self._usable(repo, _need_text(name, "workflow", limit=64))
        elif wf.deprecated:
            wf = self._usable(repo, wf.name)
        return wf.id, self._definition_from_row(wf)

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
    ) -> dict[str, Any]:
        """Open a round (巡视轮次); the concentrated period runs ``period_months`` from feedback."""
        code = _need_code(code, "code")
        title = _need_text(title, "title")
        org = _need_text(org, "org")
        fb = _need_date(feedback_date, "feedback_date", required=True)
        assert fb is not None
        if period_end is not None:
            end = _need_date(period_end, "period_end", required=True)
            assert end is not None
        else:
            if not isinstance(period_months, int) or not 1 <= period_months <= 36:
                raise InvalidInput(
                    Text("period_months 应为 1-36 的整数", "period_months must be 1 to 36"), field="period_months"
                )
            end = add_months(fb, period_months)
        if end < fb:
            raise InvalidInput(
                Text("集中整改期结束日早于反馈日", "the concentrated period ends before the feedback date"),
                field="period_end",
            )
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(Text(f"未知的时区 {tz}", f"unknown time zone {tz}"), field="tz") from None
        if not actor.covers(org):
            raise Forbidden(Text(f"{actor.id} 的组织范围不含 {org}", f"{org} is outside {actor.id}'s org scope"))
        with self._write() as conn:
            repo = Repository(conn)
            wf = self._usable(repo, workflow)
            d = self._definition(repo, wf.id)
            source = _need_source(d, source or next(iter(sources_of(d))))
            self._authorize_edit(d, "open_round", actor, None)
            if repo.round(code) is not None:
                raise InvalidInput(Text(f"轮次 {code} 已存在", f"round {code} already exists"), field="code")
            self._insert_once(
                repo.insert_round,
                Text(f"轮次 {code} 已存在", f"round {code} already exists"),
                code=code,
                title=title,
                source=source,
                org=org,
                feedback_date=fb,
                period_end=end,
                tz=tz,
                workflow_id=wf.id,
                created_at=self.clock.now(),
                created_by=actor.id,
            )
            return self._round_dict(repo, repo.round(code))

    def rounds(self, actor: Actor | None = None) -> list[dict[str, Any]]:
        with self._read() as conn:
            repo = Repository(conn)
            return [self._round_dict(repo, r, actor) for r in repo.rounds()]

    def round(self, code: str, actor: Actor | None = None) -> dict[str, Any]:
        with self._read() as conn:
            repo = Repository(conn)
            r = repo.round(code)
            if r is None:
                raise NotFound(Text(f"没有轮次 {code}", f"no round {code}"))
            return self._round_dict(repo, r, actor)

    def _round_dict(self, repo: Repository, r: Any, actor: Actor | None = None) -> dict[str, Any]:
        """A round; with ``actor``, its issue counts only within the actor's scope."""
        wf = repo.workflow_by_id(r.workflow_id)
        today = local_date(self.clock.now(), r.tz)
        prefixes = None if actor is None or "*" in actor.scope else list(actor.scope)
        counts = repo.round_state_counts(r.id, prefixes)
        return {
            "code": r.code,
            "title": r.title,
            "source": r.source,
            "org": r.org,
            "feedback_date": r.feedback_date.isoformat(),
            "period_end": r.period_end.isoformat(),
            "period_over": today > r.period_end,
            "tz": r.tz,
            "workflow": wf.name,
            "workflow_version": wf.version,
            "issues": sum(counts.values()),
            "by_state": counts,
        }

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
    ) -> IssueView:
        """Record a problem from the list; it starts in the workflow's initial state.

        ``source`` says where it was found (the round's own source unless given);
        ``confidential`` exempts it from the public version of reports (不予公开).
        ``workflow`` puts it on another workflow than the round's (an audit finding handled
        by the audit rectification workflow inside an inspection round)."""
        code = _need_code(code, "code")
        title = _need_text(title, "title")
        category = _need_text(category, "category", limit=64)
        severity = _need_text(severity, "severity", limit=64)
        unit = _need_unit(unit)
        description = _need_text(description, "description", limit=MAX_LONG_TEXT, required=False)
        owner = _need_text(owner, "owner", limit=128)  # every problem has a named owner (专人负责)
        lead = _need_text(lead, "lead", limit=128)  # and a responsible leader (责任领导)
        due = _need_date(due_date, "due_date")
        if not actor.covers(unit):
            raise Forbidden(
                Text(f"单位 {unit} 不在 {actor.id} 的组织范围内", f"unit {unit} is outside {actor.id}'s org scope")
            )
        now = self.clock.now()
        with self._write() as conn:
            repo = Repository(conn)
            r = repo.round(round_code)
            if r is None:
                raise NotFound(Text(f"没有轮次 {round_code}", f"no round {round_code}"))
            wf_id, d = self._issue_workflow(repo, r, workflow)
            if category not in d.categories:
                raise InvalidInput(
                    Text(
                        f"未知的问题类别 {category}（可用：{', '.join(d.categories)}）",
                        f"unknown category {category} (known: {', '.join(d.categories)})",
                    ),
                    field="category",
                )
            if severity not in d.severities:
                raise InvalidInput(
                    Text(
                        f"未知的严重程度 {severity}（可用：{', '.join(d.severities)}）",
                        f"unknown severity {severity} (known: {', '.join(d.severities)})",
                    ),
                    field="severity",
                )
            if due is not None and due < r.feedback_date:
                raise InvalidInput(
                    Text(
                        f"整改时限 {due} 早于反馈日 {r.feedback_date}",
                        f"due date {due} is before the feedback date {r.feedback_date}",
                    ),
                    field="due_date",
                )
            source = _need_source(d, source or _round_source(d, r))
            role = self._authorize_edit(d, "add_issue", actor, None)
            if repo.issue_exists(code):
                raise InvalidInput(Text(f"问题编号 {code} 已存在", f"issue code {code} already exists"), field="code")
            new = NewIssue(
                code=code,
                title=title,
                description=description,
                category=category,
                severity=severity,
                unit=unit,
                owner=owner,
                lead=lead,
                due=due,
                source=source,
                confidential=bool(confidential),
            )
            self._create_issues(repo, d, wf_id, r, actor, role, now, [new])
            return self._view(repo, repo.issue(code), actor, detail=False)

    def _create_issues(
        self,
        repo: Repository,
        d: WorkflowDefinition,
        workflow_id: int,
        r: Any,
        actor: Actor,
        role: str,
        now: datetime,
        batch: list[NewIssue],
    ) -> None:
        """Insert issues, each with its first event and the measures an imported list brings,
        a batch at a time (three executemany statements, whatever the batch size)."""
        policy = evaluator_for(d)
        issue_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        for new in batch:
            facts = EscalationFacts(d.initial, new.category, new.severity, now, now, new.due, r.tz)
            data: dict[str, Any] = {
                "title": new.title,
                "category": new.category,
                "severity": new.severity,
                "unit": new.unit,
                "owner": new.owner,
                "lead": new.lead,
                "due_date": _iso(new.due),
                "round": r.code,
                "source": new.source,
                "workflow": d.name,
                "workflow_version": d.version,
            }
            if new.confidential:
                data["confidential"] = True
            if new.measures:
                data["measures"] = new.measures
            ev = self._event_values(new.code, GENESIS, 1, "created", actor, role, now, to_state=d.initial, data=data)
            event_rows.append(ev)
            issue_rows.append(
                dict(
                    next_check_at=policy.next_check(facts, now),
                    light=policy.light(facts, now),
                    stage_fired="",
                    code=new.code,
                    round_id=r.id,
                    workflow_id=workflow_id,
                    title=new.title,
                    description=new.description,
                    category=new.category,
                    severity=new.severity,
                    unit=new.unit,
                    source=new.source,
                    confidential=new.confidential,
                    owner=new.owner,
                    lead=new.lead,
                    due_date=new.due,
                    state=d.initial,
                    state_seq=1,
                    state_entered_at=now,
                    state_entered_by=actor.id,
                    last_activity_at=now,
                    escalation_level=0,
                    recurrence_count=0,
                    created_at=now,
                    seq=1,
                    last_hash=ev["hash"],
                    version=1,
                )
            )
        try:
            ids = repo.insert_issues(issue_rows)
        except Duplicate:  # a twin inserted concurrently (two transactions both passed the check)
            code = batch[0].code if len(batch) == 1 else "…"
            raise InvalidInput(
                Text(f"问题编号 {code} 已存在", f"issue code {code} already exists"), field="code"
            ) from None
        repo.insert_events([dict(ev, issue_id=i) for ev, i in zip(event_rows, ids, strict=True)])
        repo.insert_measures(
            [
                {
                    "issue_id": issue_id,
                    "no": m["no"],
                    "text": m["text"],
                    "owner": m["owner"],
                    "due_date": date.fromisoformat(m["due_date"]) if m["due_date"] else None,
                    "target": m["target"],
                }
                for new, issue_id in zip(batch, ids, strict=True)
                for m in new.measures
            ]
        )
        if TODO_CHANNEL in self.channels:  # from the rows just written: no read back per issue
            repo.enqueue(
                [
                    notice
                    for values, i in zip(issue_rows, ids, strict=True)
                    for notice in self._todo_notices(d, SimpleNamespace(**values, id=i), d.initial, d.initial, 1, now)
                ]
            )
        if FEED_CHANNEL in self.channels:
            repo.enqueue(
                [
                    self._feed_notice(SimpleNamespace(id=i, code=new.code), ev, d.initial, now)
                    for new, i, ev in zip(batch, ids, event_rows, strict=True)
                ]
            )

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
    ) -> ImportReport:
        """Import a problem list (CSV or XLSX) into a round, all or nothing.

        Every bad row is reported with its row and column and nothing is written; issues whose
        code (``<round>-<序号>``) is already present are left alone, so importing the same file
        again adds nothing.  ``dry_run`` checks and reports what would be created."""
        try:
            return self._import(round_code, Path(path), actor, dry_run, encoding, mapping, workflow)
        except _DryRunImport as done:
            return done.report

    def _import(
        self,
        round_code: str,
        path: Path,
        actor: Actor,
        dry_run: bool,
        encoding: str | None,
        mapping: dict[str, str] | None,
        workflow: str | None = None,
    ) -> ImportReport:
        from .importing import ImportRefused, drafts_from_rows, read_table

        now = self.clock.now()
        with self._write() as conn:
            repo = Repository(conn)
            r = repo.round(round_code)
            if r is None:
                raise NotFound(Text(f"没有轮次 {round_code}", f"no round {round_code}"))
            wf_id, d = self._issue_workflow(repo, r, workflow)
            role = self._authorize_edit(d, "add_issue", actor, None)
            try:
                rows, _ = read_table(path, encoding=encoding)
                drafts = drafts_from_rows(
                    rows,
                    categories=d.categories,
                    severities=d.severities,
                    sources=sources_of(d),
                    org=r.org,
                    feedback_date=r.feedback_date,
                    period_end=r.period_end,
                    mapping=mapping,
                    period_bound=d.period_bound_categories,
                )
            except ImportRefused as exc:
                raise ImportInvalid(
                    Text(
                        f"导入被拒绝：{len(exc.errors)} 处错误，未写入任何内容",
                        f"import refused: {len(exc.errors)} errors, nothing was written",
                    ),
                    errors=[e.to_dict() for e in exc.errors],
                ) from None
            except OSError as exc:
                raise InvalidInput(Text(f"无法读取文件：{exc}", f"cannot read the file: {exc}"), field="file") from None
            report = ImportReport(dry_run=dry_run)
            problems: list[dict[str, Any]] = []
            default_source = _round_source(d, r)
            existing = repo.existing_codes(f"{round_code}-{draft.no}" for draft in drafts)
            pending: list[NewIssue] = []
            for draft in drafts:
                code = f"{round_code}-{draft.no}"
                if not CODE_RE.match(code):
                    problems.append(
                        {
                            "row": draft.row,
                            "column": "序号",
                            "reason": Text(
                                f"序号 {draft.no!r} 不能用作编号（字母、数字或 . _ - /）",
                                f"number {draft.no!r} cannot be part of a code (letters, digits or . _ - /)",
                            ).to_dict(),
                        }
                    )
                    continue
                if not actor.covers(draft.unit):
                    problems.append(
                        {
                            "row": draft.row,
                            "column": "责任部门",
                            "reason": Text(
                                f"单位 {draft.unit} 不在 {actor.id} 的组织范围内",
                                f"unit {draft.unit} is outside {actor.id}'s scope",
                            ).to_dict(),
                        }
                    )
                    continue
                if code in existing:
                    report.existing.append(code)
                    continue
                report.created.append(code)
                measures = [
                    {
                        "no": i,
                        "text": m.text,
                        "owner": draft.owner,
                        "due_date": draft.due_date.isoformat(),
                        "target": m.target,
                    }
                    for i, m in enumerate(draft.measures, start=1)
                ]
                new = NewIssue(
                    code=code,
                    title=draft.title[:MAX_TEXT],
                    description=draft.description,
                    category=draft.category,
                    severity=draft.severity,
                    unit=draft.unit,
                    owner=draft.owner[:128],
                    lead=draft.lead[:128],
                    due=draft.due_date,
                    source=draft.source or default_source,
                    confidential=draft.confidential,
                    measures=measures,
                )
                pending.append(new)
                if len(pending) >= 1000:
                    self._create_issues(repo, d, wf_id, r, actor, role, now, pending)
                    pending = []
            if pending:
                self._create_issues(repo, d, wf_id, r, actor, role, now, pending)
            if problems:
                raise ImportInvalid(
                    Text(
                        f"导入被拒绝：{len(problems)} 处错误，未写入任何内容",
                        f"import refused: {len(problems)} errors, nothing was written",
                    ),
                    errors=problems,
                )
            if dry_run:
                raise _DryRunImport(report)  # leaving the transaction this way rolls it back
            return report

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
    ) -> int:
        """Write the round's ledger (整改台账) as CSV or XLSX; only issues inside the actor's
        scope (and ``unit``, if given) appear.  Returns the number of rows."""
        from .ledger import ledger_row, write_csv, write_xlsx

        target = Path(path)
        fmt = (fmt or target.suffix.lstrip(".") or "xlsx").lower()
        if fmt not in ("csv", "xlsx"):
            raise InvalidInput(
                Text(f"不支持的格式 {fmt}（csv 或 xlsx）", f"unsupported format {fmt} (csv or xlsx)"), field="format"
            )
        with self._read() as conn:
            repo = Repository(conn)
            r, prefixes = self._round_in_scope(repo, round_code, actor, unit)

            def rows() -> Iterator[dict[str, Any]]:
                for chunk in repo.round_issues(
                    r.id, states=states, categories=categories, lights=lights, sources=sources, unit_prefixes=prefixes
                ):
                    measures = repo.measures_of([i.id for i in chunk])
                    for i in chunk:
                        yield ledger_row(i, measures.get(i.id, []), self._definition(repo, i.workflow_id), round_code)

            # written beside the target and moved over it when complete: a failed export
            # never leaves half a ledger where yesterday's good one was
            partial = target.with_name(f".{target.name}.partial")
            try:
                if fmt == "csv":
                    n = write_csv(rows(), partial)
                else:
                    n = write_xlsx(rows(), partial, title=f"{r.title} 整改台账")
                os.replace(partial, target)
                return n
            except OSError as exc:
                raise InvalidInput(
                    Text(f"无法写入文件：{exc}", f"cannot write the file: {exc}"), field="output"
                ) from None
            finally:
                partial.unlink(missing_ok=True)

    def dossier(self, round_code: str, *, actor: Actor, unit: str | None = None) -> list[dict[str, Any]]:
        """Every problem of a round inside the actor's scope with its measures and long-term
        mechanisms, in list order: what a rectification report is written from."""
        out: list[dict[str, Any]] = []
        with self._read() as conn:
            repo = Repository(conn)
            r, prefixes = self._round_in_scope(repo, round_code, actor, unit)
            for chunk in repo.round_issues(r.id, unit_prefixes=prefixes):
                ids = [i.id for i in chunk]
                measures, mechanisms = repo.measures_of(ids), repo.mechanisms_of(ids)
                for i in chunk:
                    d = self._definition(repo, i.workflow_id)
                    out.append(
                        {
                            "code": i.code,
                            "number": number_in_round(i.code, round_code),
                            "title": i.title,
                            "category": i.category,
                            "category_label": d.categories.get(i.category, Text(i.category, i.category)),
                            "source": source_of(i),
                            "source_label": sources_of(d).get(source_of(i), Text(source_of(i), source_of(i))),
                            "unit": i.unit,
                            "owner": i.owner,
                            "lead": i.lead,
                            "due_date": i.due_date,
                            "state": i.state,
                            "state_label": d.label(i.state),
                            "final": d.states[i.state].final if i.state in d.states else False,
                            "light": i.light,
                            "light_label": _light_label(d, i.light),
                            "note": i.description,
                            "confidential": bool(i.confidential),
                            "public_fields": d.public_fields,
                            "measures": [
                                {
                                    "no": m.no,
                                    "text": m.text,
                                    "owner": m.owner,
                                    "due_date": m.due_date,
                                    "target": m.target,
                                    "done": m.done_at is not None,
                                }
                                for m in measures.get(i.id, [])
                            ],
                            "mechanisms": [
                                {"title": m.title, "reference": m.reference, "adopted_on": m.adopted_on}
                                for m in mechanisms.get(i.id, [])
                            ],
                        }
                    )
        return out

    def _round_in_scope(
        self, repo: Repository, round_code: str, actor: Actor, unit: str | None
    ) -> tuple[Any, list[str] | None]:
        """The round, and the unit prefixes a read of it is limited to: the actor's scope,
        narrowed to ``unit`` if given (which must lie inside it)."""
        r = repo.round(round_code)
        if r is None:
            raise NotFound(Text(f"没有轮次 {round_code}", f"no round {round_code}"))
        if unit:
            unit = _need_unit(unit)
            if not actor.covers(unit):
                raise Forbidden(
                    Text(f"单位 {unit} 不在 {actor.id} 的组织范围内", f"unit {unit} is outside {actor.id}'s scope")
                )
            return r, [unit]
        return r, None if "*" in actor.scope else list(actor.scope)

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
        from .reports import IssueFact, burn_down, summarise

        if by not in (None, "unit", "category", "source", "state"):
            raise InvalidInput(
                Text("--by 只能是 unit、category、source 或 state", "--by must be unit, category, source or state"),
                field="by",
            )
        now = to_utc(as_of) if as_of is not None else self.clock.now()
        with self._read() as conn:
            repo = Repository(conn)
            r = repo.round(round_code)
            if r is None:
                raise NotFound(Text(f"没有轮次 {round_code}", f"no round {round_code}"))
            d = self._definition(repo, r.workflow_id)
            prefixes = None if "*" in actor.scope else list(actor.scope)
            rows = [row for row in repo.round_issue_facts(r.id, prefixes) if not (public and row.confidential)]
            # a round may hold issues of several workflows: each one's rules and names count
            defs = {wid: self._definition(repo, wid) for wid in {r.workflow_id, *(row.workflow_id for row in rows)}}
            visible = {row.id for row in rows}
            changes: dict[int, list[tuple[datetime, bool]]] = {}
            final = frozenset(s.name for x in defs.values() for s in x.states.values() if s.final)
            close_days: list[float] = []
            created = {row.id: row.created_at for row in rows}
            state_at: dict[int, str] = {}  # each issue's state on the day asked, from its history
            reopened: Counter[int] = Counter()
            for t in repo.round_transitions(r.id):
                if t.issue_id in visible and t.at <= now:
                    changes.setdefault(t.issue_id, []).append((t.at, t.to_state not in final))
                    state_at[t.issue_id] = t.to_state
                    if t.to_state in final and t.from_state not in final:
                        close_days.append((t.at - created[t.issue_id]).total_seconds() / 86400)
                    if t.from_state in final and t.to_state not in final:
                        reopened[t.issue_id] += 1
        tz = ZoneInfo(r.tz)
        today = now.astimezone(tz).date()
        facts = [
            IssueFact(
                row.code,
                row.category,
                row.unit,
                row.source,
                state_at.get(row.id, defs[row.workflow_id].initial),
                row.light,
                row.due_date,
                reopened[row.id],
                row.escalation_level,
            )
            for row in rows
            if row.created_at <= now
        ]
        supervised = frozenset(t.dest for x in defs.values() for t in x.transitions if t.trigger == "escalate")
        out = summarise(
            facts,
            final_states=final,
            supervised_states=supervised,
            immediate=frozenset().union(*(x.period_bound_categories for x in defs.values())),
            today=today,
            by=by,
            close_days=close_days,
        )
        labels: dict[str, dict[str, Text]] = {"category": {}, "source": {}, "state": {}}
        for x in sorted(defs.values(), key=lambda x: x is d):  # the round's own names win
            labels["category"].update(x.categories)
            labels["source"].update(sources_of(x))
            labels["state"].update({s: x.label(s) for s in x.states})
        for key, group in out.get("by", {}).get("groups", {}).items():
            if by in labels and key in labels[by]:
                group["label"] = labels[by][key].to_dict()
        out["round"] = round_code
        out["as_of"] = today.isoformat()
        out["period_end"] = r.period_end.isoformat()
        out["burn_down"] = burn_down(
            ((row.created_at, changes.get(row.id, [])) for row in rows if row.created_at <= now),
            start=r.feedback_date,
            end=min(today, max(today, r.period_end)),
            tz=tz,
        )
        return out

    def issue(self, code: str, actor: Actor) -> IssueView:
        """An issue with its measures, evidence, sign-offs, mechanisms and, for this actor, each
        trigger from its state: available, or the reasons it is not."""
        with self._read() as conn:
            repo = Repository(conn)
            row = self._visible(repo, code, actor)
            return self._view(repo, row, actor, detail=True)

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
        if not 1 <= limit <= 10_000 or offset < 0:
            raise InvalidInput(
                Text("limit 应为 1-10000，offset 不能为负", "limit must be 1-10000 and offset not negative"),
                field="limit",
            )
        prefixes = None if "*" in actor.scope else list(actor.scope)
        with self._read() as conn:
            repo = Repository(conn)
            rows = repo.list_issues(
                round_code=round_code,
                states=states,
                categories=categories,
                owner=owner,
                lights=lights,
                unit_prefixes=prefixes,
                limit=limit,
                offset=offset,
            )
            return [self._view(repo, r, actor, detail=False) for r in rows]

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
    ) -> int:
        """Add a rectification measure; returns its number within the issue."""
        text = _need_text(text, "text", limit=MAX_LONG_TEXT)
        owner = _need_text(owner, "owner", limit=128, required=False) or None
        target = _need_text(target, "target", required=False) or None
        due = _need_date(due_date, "due_date")

        def apply(repo: Repository, row: Any, d: WorkflowDefinition) -> tuple[str, dict[str, Any]]:
            no = repo.next_measure_no(row.id)
            repo.insert_measure(issue_id=row.id, no=no, text=text, owner=owner, due_date=due, target=target)
            return "measure_added", {"no": no, "text": text, "owner": owner, "due_date": _iso(due), "target": target}

        return self._edit(code, actor, "add_measure", apply, expected_version=expected_version)["no"]

    def complete_measure(
        self, code: str, no: int, *, actor: Actor, comment: str | None = None, expected_version: int | None = None
    ) -> None:
        comment = _need_text(comment, "comment", limit=MAX_LONG_TEXT, required=False) or None

        def apply(repo: Repository, row: Any, d: WorkflowDefinition) -> tuple[str, dict[str, Any]]:
            m = repo.measure(row.id, no)
            if m is None:
                raise NotFound(Text(f"问题 {code} 没有措施 {no}", f"issue {code} has no measure {no}"))
            if not repo.mark_measure_done(row.id, no, self.clock.now(), actor.id):
                raise InvalidInput(Text(f"措施 {no} 已经完成", f"measure {no} is already done"), field="no")
            return "measure_done", {"no": no}

        self._edit(code, actor, "complete_measure", apply, comment=comment, expected_version=expected_version)

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
    ) -> None:
        """Attach evidence by reference: the OA system keeps the file, we keep where and its hash."""
        uri = _need_text(uri, "uri", limit=2000)
        parts = urlsplit(uri)
        if parts.scheme.lower() not in EVIDENCE_SCHEMES or not (parts.netloc or parts.path):
            raise InvalidInput(
                Text(
                    f"证据地址须为 {'/'.join(sorted(EVIDENCE_SCHEMES))} 协议的 URI：{uri!r}",
                    f"evidence URI must use {'/'.join(sorted(EVIDENCE_SCHEMES))}: {uri!r}",
                ),
                field="uri",
            )
        if _uri_hostile(uri):
            raise InvalidInput(
                Text(
                    f"证据地址不能含空白、控制字符或 .. 段（含编码形式和反斜杠）：{uri!r}",
                    f"evidence URI must not hold whitespace, control characters or .. segments "
                    f"(encoded or with backslashes): {uri!r}",
                ),
                field="uri",
            )
        sha = (sha256 or "").strip().lower()
        if not SHA256_RE.match(sha):
            raise InvalidInput(Text("sha256 应为 64 位十六进制", "sha256 must be 64 hex digits"), field="sha256")
        note = _need_text(note, "note", limit=1000, required=False)

        def apply(repo: Repository, row: Any, d: WorkflowDefinition) -> tuple[str, dict[str, Any]]:
            if measure_no is not None and repo.measure(row.id, measure_no) is None:
                raise NotFound(Text(f"问题 {code} 没有措施 {measure_no}", f"issue {code} has no measure {measure_no}"))
            repo.insert_evidence(
                issue_id=row.id,
                measure_no=measure_no,
                uri=uri,
                sha256=sha,
                note=note,
                added_by=actor.id,
                added_at=self.clock.now(),
            )
            return "evidence_added", {"uri": uri, "sha256": sha, "measure_no": measure_no}

        self._edit(code, actor, "add_evidence", apply, expected_version=expected_version)

    def sign_off(
        self, code: str, role: str, *, actor: Actor, comment: str | None = None, expected_version: int | None = None
    ) -> None:
        """Sign off the issue at its current stage in ``role`` (which the actor must hold)."""
        comment = _need_text(comment, "comment", limit=2000, required=False) or None
        role = _need_text(role, "role", limit=64)

        def apply(repo: Repository, row: Any, d: WorkflowDefinition) -> tuple[str, dict[str, Any]]:
            for s in repo.signoffs(row.id):
                if s.role == role and s.stage_seq == row.state_seq:
                    raise InvalidInput(
                        Text(
                            f"{role} 已在本环节签字（{s.actor_id}）",
                            f"{role} has already signed off at this stage ({s.actor_id})",
                        ),
                        field="role",
                    )
            repo.insert_signoff(
                issue_id=row.id,
                role=role,
                actor_id=actor.id,
                state=row.state,
                stage_seq=row.state_seq,
                comment=comment or "",
                at=self.clock.now(),
            )
            return "signed_off", {"role": role, "state": row.state}

        self._edit(code, actor, "sign_off", apply, role=role, comment=comment, expected_version=expected_version)

    def assign(
        self,
        code: str,
        *,
        actor: Actor,
        owner: str | None = None,
        lead: str | None = None,
        comment: str | None = None,
        expected_version: int | None = None,
    ) -> None:
        """Hand an issue to another owner or leader (staff change); recorded like every edit."""
        new_owner = _need_text(owner, "owner", limit=128, required=False) or None
        new_lead = _need_text(lead, "lead", limit=128, required=False) or None
        if new_owner is None and new_lead is None:
            raise InvalidInput(Text("请指定新的责任人或责任领导", "name a new owner or lead"), field="owner")
        comment = _need_text(comment, "comment", limit=MAX_LONG_TEXT, required=False) or None

        def apply(repo: Repository, row: Any, d: WorkflowDefinition) -> tuple[str, dict[str, Any]]:
            changes = {
                k: v for k, v in (("owner", new_owner), ("lead", new_lead)) if v is not None and v != getattr(row, k)
            }
            if not changes:
                raise InvalidInput(Text("没有任何变化", "nothing would change"), field="owner")
            repo.set_people(row.id, **changes)
            if TODO_CHANNEL in self.channels:  # the to-dos move with the people
                repo.enqueue(
                    self._todo_notices(
                        d, row, row.state, row.state, row.seq + 1, self.clock.now(), after_row=row._replace(**changes)
                    )
                )
            return "assigned", {k: {"from": getattr(row, k), "to": v} for k, v in changes.items()}

        self._edit(code, actor, "assign", apply, comment=comment, expected_version=expected_version)

    def add_mechanism(
        self,
        code: str,
        title: str,
        *,
        actor: Actor,
        reference: str = "",
        adopted_on: date | str | None = None,
        expected_version: int | None = None,
    ) -> None:
        """Record a long-term mechanism (长效机制): a rule or institution adopted (建章立制)."""
        title = _need_text(title, "title")
        reference = _need_text(reference, "reference", limit=200, required=False)
        adopted = _need_date(adopted_on, "adopted_on")

        def apply(repo: Repository, row: Any, d: WorkflowDefinition) -> tuple[str, dict[str, Any]]:
            repo.insert_mechanism(
                issue_id=row.id,
                title=title,
                reference=reference,
                adopted_on=adopted,
                added_by=actor.id,
                added_at=self.clock.now(),
            )
            return "mechanism_added", {"title": title, "reference": reference, "adopted_on": _iso(adopted)}

        self._edit(code, actor, "add_mechanism", apply, expected_version=expected_version)

    def _edit(
        self,
        code: str,
        actor: Actor,
        action: str,
        apply: Any,
        *,
        role: str | None = None,
        comment: str | None = None,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        now = self.clock.now()
        with self._write() as conn:
            repo = Repository(conn)
            row = self._visible(repo, code, actor, lock=True)
            _check_version(code, row, expected_version)
            d = self._definition(repo, row.workflow_id)
            if d.states[row.state].final:
                raise Refused(
                    Text(
                        f"问题 {code} 已{d.label(row.state).zh}，不能再修改",
                        f"issue {code} is {d.label(row.state).en}; it can no longer be edited",
                    ),
                    [("state", d.label(row.state))],
                )
            used_role = self._authorize_edit(d, action, actor, row, role=role)
            kind, data = apply(repo, row, d)
            self._append(repo, d, row, kind, actor, used_role, now, comment=comment, data=data)
            return data

    def _authorize_edit(
        self, d: WorkflowDefinition, action: str, actor: Actor, row: Any, *, role: str | None = None
    ) -> str:
        """The role in which ``actor`` may make this edit, or Refused listing why not."""
        allowed = d.actions.get(action, frozenset())
        candidates = [role] if role is not None else sorted(actor.roles & allowed)
        reasons: list[tuple[str, Text]] = []
        if role is not None and role not in d.roles:
            reasons.append(("role", Text(f"工作流 {d.name} 没有角色 {role}", f"workflow {d.name} has no role {role}")))
        elif role and role not in actor.roles:
            reasons.append(("role", Text(f"{actor.id} 不具有角色 {role}", f"{actor.id} does not hold role {role}")))
        elif role and role not in allowed:
            reasons.append(
                (
                    "role",
                    Text(
                        f"角色 {role} 不能执行 {action}（允许：{', '.join(sorted(allowed))}）",
                        f"role {role} may not {action} (allowed: {', '.join(sorted(allowed))})",
                    ),
                )
            )
        elif not candidates:
            reasons.append(
                (
                    "role",
                    Text(
                        f"{actor.id} 的角色（{', '.join(sorted(actor.roles)) or '无'}）不能执行 {action}（允许：{', '.join(sorted(allowed))}）",
                        f"{actor.id}'s roles ({', '.join(sorted(actor.roles)) or 'none'}) may not {action} (allowed: {', '.join(sorted(allowed))})",
                    ),
                )
            )
        else:
            for r in candidates:
                holder = d.roles[r].holder if r in d.roles else None
                if row is None or holder is None or getattr(row, holder) == actor.id:
                    return r
            r = candidates[0]
            holder = d.roles[r].holder
            reasons.append(
                (
                    "role",
                    Text(
                        f"{actor.id} 不是本问题的{r}（应为 {getattr(row, holder) or '未指定'}）",
                        f"{actor.id} is not this issue's {r} (that is {getattr(row, holder) or 'nobody yet'})",
                    ),
                )
            )
        raise Refused(Text(f"不允许执行 {action}", f"{action} is not allowed"), reasons, action=action)

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
        comment = _need_text(comment, "comment", limit=MAX_LONG_TEXT, required=False) or None
        if request_id is not None:
            request_id = _need_text(request_id, "request_id", limit=128)
        try:
            return self._fire(code, trigger, actor, role, comment, request_id, expected_version)
        except IntegrityError:
            # a concurrent twin with the same request id won the insert; answer with its result
            if request_id is not None:
                with self._read() as conn:
                    prior = Repository(conn).event_by_request(request_id)
                if prior is not None:
                    return self._replayed(prior, code, trigger, actor)
            raise ConcurrentUpdate(
                Text(f"问题 {code} 正被他人同时修改，请重试", f"issue {code} was changed concurrently; retry")
            ) from None

    def _fire(
        self,
        code: str,
        trigger: str,
        actor: Actor,
        role: str | None,
        comment: str | None,
        request_id: str | None,
        expected_version: int | None,
    ) -> FireResult:
        now = self.clock.now()
        with self._write() as conn:
            repo = Repository(conn)
            row = self._visible(repo, code, actor, lock=True)
            if request_id is not None:
                # looked up under the issue's lock, so a concurrent twin has either committed or waits
                prior = repo.event_by_request(request_id)
                if prior is not None:
                    return self._replayed(prior, code, trigger, actor)
            _check_version(code, row, expected_version)
            d = self._definition(repo, row.workflow_id)
            t = d.transition(trigger, row.state)
            facts = self._facts(repo, row, t.needs if t else frozenset())
            machine = machine_for(d)
            ctx = GuardContext(actor, role or "-", trigger, row.state, now, local_date(now, row.round_tz), comment)
            if role is None:
                role = machine.choose_role(t, facts, ctx, evaluate=False)[0] if t else min(actor.roles, default="-")
                ctx = GuardContext(actor, role, trigger, row.state, ctx.now, ctx.today, comment)
            outcome: Outcome = machine.fire(trigger, facts, ctx)
            if not outcome.ok:
                label = t.label if t else Text(trigger, trigger)
                raise Refused(
                    Text(f"问题 {code} 不能{label.zh}", f"issue {code} cannot {label.en}"),
                    list(outcome.reasons),
                    issue=code,
                    trigger=trigger,
                    state=row.state,
                )
            dest = outcome.dest
            assert dest is not None
            seq = row.seq + 1
            reopened = d.states[row.state].final and not d.states[dest].final
            extra: dict[str, Any] = dict(
                state=dest,
                state_seq=seq,
                state_entered_at=now,
                state_entered_by=actor.id,
                recurrence_count=row.recurrence_count + (1 if reopened else 0),
                escalation_level=row.escalation_level,
                # escalation rules fire once per episode: a reopened item starts a new one
                stage_fired="" if reopened else row.stage_fired,
                final_deadline=None if reopened else row.final_deadline,
            )
            self._append(
                repo,
                d,
                row,
                "transition",
                actor,
                ctx.role,
                now,
                comment=comment,
                trigger=trigger,
                from_state=row.state,
                to_state=dest,
                request_id=request_id,
                issue_values=extra,
            )
            if TODO_CHANNEL in self.channels:
                repo.enqueue(self._todo_notices(d, row, row.state, dest, seq, now))
            return FireResult(code, trigger, row.state, dest, seq, row.version + 1)

    def _replayed(self, prior: Any, code: str, trigger: str, actor: Actor) -> FireResult:
        """The first answer to a retried request — only for the same actor, issue and trigger."""
        if prior.issue_code != code or prior.trigger != trigger or prior.actor_id != actor.id:
            raise InvalidInput(
                Text(
                    f"请求号已被 {prior.actor_id} 用于 {prior.issue_code} 的 {prior.trigger}",
                    f"request id was already used by {prior.actor_id} for {prior.trigger} on {prior.issue_code}",
                ),
                field="request_id",
            )
        # every write bumps version and seq together, so the version after that event was its seq
        return FireResult(code, trigger, prior.from_state, prior.to_state, prior.seq, prior.seq, replayed=True)

    def _facts(self, repo: Repository, row: Any, needs: frozenset[str]) -> IssueFacts:
        kw: dict[str, Any] = {}
        if "measures" in needs:
            kw["measures"] = tuple(
                MeasureFacts(m.no, m.text, m.owner, m.due_date, m.target, m.done_at is not None)
                for m in repo.measures(row.id)
            )
        if "evidence" in needs:
            n = getattr(row, "evidence_count", None)  # the write path's row carries it
            kw["evidence_count"] = n if n is not None else repo.evidence_count(row.id)
        if "signoffs" in needs:
            kw["signoffs"] = tuple(
                SignoffFacts(s.role, s.actor_id, s.state, s.stage_seq) for s in repo.signoffs(row.id)
            )
        if "mechanisms" in needs:
            n = getattr(row, "mechanism_count", None)
            kw["mechanism_count"] = n if n is not None else repo.mechanism_count(row.id)
        return IssueFacts(
            code=row.code,
            category=row.category,
            severity=row.severity,
            state=row.state,
            unit=row.unit,
            owner=row.owner,
            lead=row.lead,
            due_date=row.due_date,
            state_seq=row.state_seq,
            state_entered_by=row.state_entered_by,
            round=RoundFacts(row.round_code, row.round_feedback_date, row.round_period_end),
            **kw,
        )

    def _event_values(
        self,
        code: str,
        prev_hash: str,
        seq: int,
        kind: str,
        actor: Actor,
        role: str | None,
        at: datetime,
        *,
        trigger: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        values = dict(
            seq=seq,
            kind=kind,
            trigger=trigger,
            from_state=from_state,
            to_state=to_state,
            actor_id=actor.id,
            role=role,
            at=at,
            comment=comment,
            data=json.dumps(data, ensure_ascii=False, sort_keys=True) if data else "{}",
            request_id=request_id,
        )
        key = self.chain_key
        h = event_hash(code, prev_hash, values, key)
        return {**values, "prev_hash": prev_hash, "hash": h, "key_id": key.id if key else None}

    def _append(
        self,
        repo: Repository,
        d: WorkflowDefinition,
        row: Any,
        kind: str,
        actor: Actor,
        role: str | None,
        now: datetime,
        *,
        issue_values: dict[str, Any] | None = None,
        activity: bool = True,
        **event: Any,
    ) -> None:
        """Append one event and move the issue's head.  ``activity=False`` for the scheduler's
        own events, which do not count as someone working on the issue (the idle rule)."""
        seq = row.seq + 1
        active_at = now if activity else row.last_activity_at
        ev = self._event_values(row.code, row.last_hash, seq, kind, actor, role, now, **event)
        values = issue_values or {}
        facts = EscalationFacts(
            values.get("state", row.state),
            row.category,
            row.severity,
            values.get("state_entered_at", row.state_entered_at),
            active_at,
            row.due_date,
            row.round_tz,
            _fired(values.get("stage_fired", row.stage_fired)),
            values.get("final_deadline", row.final_deadline),
        )
        light, check_at = evaluator_for(d).schedule(facts, now)
        try:
            repo.update_issue(
                row.id,
                row.version,
                seq=seq,
                last_hash=ev["hash"],
                last_activity_at=active_at,
                next_check_at=check_at,
                light=light,
                **values,
            )
        except StaleVersion:
            raise ConcurrentUpdate(
                Text(f"问题 {row.code} 正被他人同时修改，请重试", f"issue {row.code} was changed concurrently; retry")
            ) from None
        repo.insert_event(issue_id=row.id, **ev)
        if FEED_CHANNEL in self.channels:
            repo.enqueue([self._feed_notice(row, ev, values.get("state", row.state), now)])

    def _feed_notice(self, row: Any, ev: dict[str, Any], state: str, now: datetime) -> dict[str, Any]:
        """Every event on an issue, as the webhook's change feed: an OA system mirrors each
        change from it without polling (``seq`` orders them; a late duplicate is recognisable)."""
        return dict(
            issue_id=row.id,
            event_seq=ev["seq"],
            channel=FEED_CHANNEL,
            dedupe_key=f"{row.code}:{ev['seq']}:feed"[:200],
            recipient=json.dumps({"feed": "events"}),
            payload=json.dumps(
                {
                    "issue": row.code,
                    "seq": ev["seq"],
                    "event": ev["kind"],
                    "trigger": ev.get("trigger"),
                    "from": ev.get("from_state"),
                    "to": ev.get("to_state"),
                    "state": state,
                    "actor": ev["actor_id"],
                    "at": _iso(ev["at"]),
                    "hash": ev["hash"],
                },
                ensure_ascii=False,
            ),
            status="pending",
            attempts=0,
            next_attempt_at=min(now, self.clock.now()),
            created_at=now,
        )

    # --- escalation sweep and notices ----------------------------------------------------

    def sweep(
        self,
        as_of: datetime | date | str | None = None,
        *,
        dry_run: bool = False,
        batch: int = 200,
        should_stop: Any = None,
    ) -> SweepReport:
        """Apply every escalation rule whose time has come, each at most once per issue and
        stage; write its events and notices in one transaction per batch.

        Only issues whose ``next_check_at`` has come are read (through its index).  On
        PostgreSQL rows are claimed with ``FOR UPDATE SKIP LOCKED``, so sweeps on several nodes
        split the work; the ``escalations`` record (unique per issue, rule and stage) makes a
        rule fire once whichever node ran it.  ``dry_run`` works out the same and rolls back.
        ``should_stop()`` is asked between batches (a scheduler shutting down).
        """
        now = to_utc(as_of) if as_of is not None else self.clock.now()
        report = SweepReport(as_of=now, dry_run=dry_run)
        after: tuple[datetime, int] | None = None
        while not (should_stop and should_stop()):
            try:
                with self._write() as conn:
                    repo = Repository(conn)
                    rows = repo.due_for_check(now, after, batch)
                    for row in rows:
                        reported = len(report.fired)
                        try:
                            with conn.begin_nested():  # one issue's failure must not stop the rest
                                self._sweep_issue(repo, row, now, report)
                        except Exception as exc:
                            del report.fired[reported:]  # rolled back with the issue: not applied
                            log.exception("sweep: issue %s failed; retrying it in an hour", row.code)
                            report.failed.append({"issue": row.code, "error": str(exc)[:500]})
                            repo.set_schedule(row.id, row.light, now + timedelta(hours=1))
                    report.batches += 1
                    if rows:
                        after = (rows[-1].next_check_at, rows[-1].id)
                    if dry_run:
                        raise _DryRun
            except _DryRun:
                pass
            if len(rows) < batch:
                break
        return report

    def _sweep_issue(self, repo: Repository, row: Any, now: datetime, report: SweepReport) -> None:
        d = self._definition(repo, row.workflow_id)
        policy = evaluator_for(d)
        report.checked += 1
        for _ in range(len(policy.rules) + 1):  # each pass fires at least one rule, or stops
            facts = _escalation_facts(row)
            dues = policy.due_rules(facts, now)
            if not dues:
                break
            due = dues[0]
            self._apply_rule(repo, d, row, due, now, report)
            row = repo.issue_for_write(row.code)
        facts = _escalation_facts(row)
        light, check = policy.light(facts, now), policy.next_check(facts, now)
        if check is not None and check <= now:  # a rule that could not be applied: not again this sweep
            check = None
        if (light, check) != (row.light, row.next_check_at):
            repo.set_schedule(row.id, light, check)

    def _apply_rule(
        self, repo: Repository, d: WorkflowDefinition, row: Any, due: DueRule, now: datetime, report: SweepReport
    ) -> None:
        rule = due.rule
        data: dict[str, Any] = {"rule": rule.name, "action": rule.action}
        if due.new_deadline is not None:
            data["new_deadline"] = due.new_deadline.isoformat()
        if due.estimated:
            data["calendar_estimated"] = True
        fired = ",".join(sorted(_fired(row.stage_fired) | {rule.name}))
        outcome = "applied"
        if rule.action == "escalate":
            t = d.transition("escalate", row.state)
            facts = self._facts(repo, row, t.needs if t else frozenset())
            ctx = GuardContext(SYSTEM, "system", "escalate", row.state, now, local_date(now, row.round_tz), None)
            result = machine_for(d).fire("escalate", facts, ctx)
            if result.ok:
                seq = row.seq + 1
                self._append(
                    repo,
                    d,
                    row,
                    "transition",
                    SYSTEM,
                    "system",
                    now,
                    activity=False,
                    trigger="escalate",
                    from_state=row.state,
                    to_state=result.dest,
                    data=data,
                    issue_values=dict(
                        state=result.dest,
                        state_seq=seq,
                        state_entered_at=now,
                        state_entered_by=SYSTEM.id,
                        recurrence_count=row.recurrence_count,
                        escalation_level=row.escalation_level,
                        stage_fired=fired,
                        final_deadline=row.final_deadline,
                    ),
                )
                if TODO_CHANNEL in self.channels:
                    repo.enqueue(self._todo_notices(d, row, row.state, result.dest, row.seq + 1, now))
            else:
                outcome = "refused"
                data["refused"] = [{"rule": r, "reason": t_.to_dict()} for r, t_ in result.reasons]
        if rule.action != "escalate" or outcome == "refused":
            level = row.escalation_level + (1 if rule.action == "elevate" else 0)
            if rule.action == "elevate":
                data["level"] = level
            kind = "escalation_failed" if outcome == "refused" else f"escalation_{rule.action}"
            self._append(
                repo,
                d,
                row,
                kind,
                SYSTEM,
                "system",
                now,
                data=data,
                activity=False,
                issue_values={
                    "stage_fired": fired,
                    "escalation_level": level,
                    "final_deadline": due.new_deadline or row.final_deadline,
                },
            )
        seq = row.seq + 1
        try:
            repo.record_escalation(  # once per episode (reopening starts the next)
                issue_id=row.id,
                rule=rule.name,
                stage_seq=row.recurrence_count,
                action=rule.action,
                fired_at=now,
                event_seq=seq,
            )
        except Duplicate:
            raise ConcurrentUpdate(Text("另一个巡检进程已处理该规则", "another sweep applied this rule")) from None
        repo.enqueue(self._notices(d, row, rule, data, seq, now))
        report.fired.append(
            {
                "issue": row.code,
                "rule": rule.name,
                "action": rule.action,
                "outcome": outcome,
                "notices": len(rule.notify) * len(self.channels),
                **data,
            }
        )

    def _notices(
        self, d: WorkflowDefinition, row: Any, rule: Any, data: dict[str, Any], seq: int, now: datetime
    ) -> list[dict[str, Any]]:
        label = d.label(row.state)
        subject = f"【{ACTION_LABELS[rule.action].zh}】{row.code} {row.title}"
        text = Text(
            f"问题 {row.code}「{row.title}」（{row.unit}，整改时限 {row.due_date or '未定'}，当前{label.zh}）"
            f"触发规则 {rule.name}：{ACTION_LABELS[rule.action].zh}。"
            + (f"最后期限：{data['new_deadline']}。" if "new_deadline" in data else ""),
            f"Issue {row.code} ({row.unit}, due {row.due_date or 'not set'}, now {label.en}) triggered rule "
            f"{rule.name}: {ACTION_LABELS[rule.action].en}."
            + (f" Final deadline: {data['new_deadline']}." if "new_deadline" in data else ""),
        )
        out = []
        for role in rule.notify:
            recipient = _recipient(d, row, role)
            key = recipient.get("user") or f"{role}@{row.unit}"
            for channel in (c for c in self.channels if c != TODO_CHANNEL):
                notice_id = f"{row.code}:{seq}:{role}:{channel}"
                out.append(
                    dict(
                        issue_id=row.id,
                        event_seq=seq,
                        channel=channel,
                        dedupe_key=notice_id[:200],
                        recipient=json.dumps(recipient, ensure_ascii=False),
                        payload=json.dumps(
                            {
                                "issue": row.code,
                                "title": row.title,
                                "unit": row.unit,
                                "state": row.state,
                                "due_date": _iso(row.due_date),
                                "subject": subject,
                                "text": text.render("zh"),
                                "message": text.to_dict(),
                                "to": key,
                                **data,
                            },
                            ensure_ascii=False,
                        ),
                        status="pending",
                        attempts=0,
                        next_attempt_at=min(now, self.clock.now()),  # deliverable at once, even for --as-of
                        created_at=now,
                    )
                )
        return out

    def _todo_notices(
        self,
        d: WorkflowDefinition,
        row: Any,
        source: str,
        dest: str,
        seq: int,
        now: datetime,
        after_row: Any = None,
    ) -> list[dict[str, Any]]:
        """To-dos for the OA system: done for whoever had to act before and no longer does,
        open for whoever must act now (the roles of the triggers the new state offers)."""

        def who_acts(state: str, row: Any) -> dict[str, dict[str, Any]]:
            out: dict[str, dict[str, Any]] = {}
            for t in d.transitions_from(state):
                for role in sorted(t.roles - {"system"}):
                    rcp = _recipient(d, row, role)
                    key = rcp.get("user") or f"{role}@{row.unit}"
                    entry = out.setdefault(key, {"recipient": rcp, "triggers": []})
                    entry["triggers"].append(t.trigger)
            return out

        before = who_acts(source, row)
        after = who_acts(dest, after_row if after_row is not None else row) if not d.states[dest].final else {}
        label = d.label(dest)
        rows = []
        for key, action, entry in [
            *((k, "done", e) for k, e in before.items() if k not in after),
            *((k, "open", e) for k, e in after.items()),
        ]:
            notice_id = f"{row.code}:{seq}:todo:{key}"
            payload = {
                "todo": {"id": f"zhenggai:{row.code}:{key}", "action": action, "seq": seq, "ts": _iso(now)},
                "issue": row.code,
                "title": row.title,
                "unit": row.unit,
                "state": dest,
                "state_label": label.to_dict(),
                "due_date": _iso(row.due_date),
                "triggers": entry["triggers"] if action == "open" else [],
            }
            rows.append(
                dict(
                    issue_id=row.id,
                    event_seq=seq,
                    channel=TODO_CHANNEL,
                    dedupe_key=notice_id[:200],
                    recipient=json.dumps(entry["recipient"], ensure_ascii=False),
                    payload=json.dumps(payload, ensure_ascii=False),
                    status="pending",
                    attempts=0,
                    next_attempt_at=min(now, self.clock.now()),
                    created_at=now,
                )
            )
        return rows

    def deliver(
        self,
        *,
        limit: int = 100,
        now: datetime | None = None,
        lease: timedelta = timedelta(minutes=5),
        should_stop: Any = None,
    ) -> DeliveryReport:
        """Send due notices through their channel's notifier; retry failures with backoff.

        Notices are claimed in a short transaction (their next attempt moved ``lease`` ahead,
        so a concurrent deliverer skips them), each is sent with no transaction open — a slow
        receiver must not hold the database — and its outcome recorded at once.  A process that
        dies in between leaves it to be sent again when the lease runs out: at least once.
        ``should_stop()`` is asked between notices (a scheduler shutting down)."""
        now = now or self.clock.now()
        report = DeliveryReport()
        with self._write() as conn:
            repo = Repository(conn)
            claimed = list(repo.outbox_due(now, limit))
            for row in claimed:
                repo.outbox_update(row.id, next_attempt_at=now + lease)
        for row in claimed:
            if should_stop and should_stop():
                break  # the rest keep their lease and are sent after it runs out
            notifier = self.notifiers.get(row.channel)
            notice = Notice(row.dedupe_key, row.channel, json.loads(row.recipient), json.loads(row.payload))
            error: Exception | None = None
            try:
                if notifier is None:
                    raise DeliveryFailed(f"no notifier is configured for channel {row.channel!r}")
                notifier.send(notice)
            except Exception as exc:
                error = exc
            attempts = row.attempts + 1
            with self._write() as conn:
                repo = Repository(conn)
                if error is None:
                    repo.outbox_update(row.id, status="delivered", attempts=attempts, delivered_at=now, last_error=None)
                    report.delivered += 1
                else:
                    dead = attempts >= self.retry.attempts
                    repo.outbox_update(
                        row.id,
                        attempts=attempts,
                        last_error=str(error)[:2000],
                        status="dead" if dead else "pending",
                        next_attempt_at=now + self.retry.delay(attempts),
                    )
                    report.failed += 1
                    report.dead += dead
        return report

    def outbox(self, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with self._read() as conn:
            return [
                {
                    "id": r.id,
                    "channel": r.channel,
                    "recipient": json.loads(r.recipient),
                    "status": r.status,
                    "attempts": r.attempts,
                    "next_attempt_at": _iso(r.next_attempt_at),
                    "last_error": r.last_error,
                    "created_at": _iso(r.created_at),
                    "delivered_at": _iso(r.delivered_at),
                    "issue": json.loads(r.payload).get("issue"),
                    "rule": json.loads(r.payload).get("rule"),
                    "payload": json.loads(r.payload),
                }
                for r in Repository(conn).outbox_list(status, limit)
            ]

    def retry_dead(self, ids: list[int] | None = None) -> int:
        """Put dead notices back in the queue (all of them, or these ids)."""
        with self._write() as conn:
            return Repository(conn).outbox_retry(ids, self.clock.now())

    # --- reading ------------------------------------------------------------------------

    def _visible(self, repo: Repository, code: str, actor: Actor, *, lock: bool = False) -> Any:
        row = repo.issue_for_write(code) if lock else repo.issue(code)
        if row is None:
            raise NotFound(Text(f"没有问题 {code}", f"no issue {code}"))
        if not actor.covers(row.unit):
            raise Forbidden(
                Text(f"问题 {code} 不在 {actor.id} 的组织范围内", f"issue {code} is outside {actor.id}'s org scope")
            )
        return row

    def _view(self, repo: Repository, row: Any, actor: Actor, *, detail: bool) -> IssueView:
        d = self._definition(repo, row.workflow_id)
        wf = self._defs[row.workflow_id]
        kw: dict[str, Any] = {}
        if detail:
            kw["measures"] = [
                {
                    "no": m.no,
                    "text": m.text,
                    "owner": m.owner,
                    "due_date": _iso(m.due_date),
                    "target": m.target,
                    "done": m.done_at is not None,
                    "done_at": _iso(m.done_at),
                    "done_by": m.done_by,
                }
                for m in repo.measures(row.id)
            ]
            kw["evidence"] = [
                {
                    "uri": e.uri,
                    "sha256": e.sha256,
                    "note": e.note,
                    "measure_no": e.measure_no,
                    "added_by": e.added_by,
                    "added_at": _iso(e.added_at),
                }
                for e in repo.evidence(row.id)
            ]
            kw["signoffs"] = [
                {
                    "role": s.role,
                    "actor": s.actor_id,
                    "state": s.state,
                    "current": s.stage_seq == row.state_seq,
                    "comment": s.comment,
                    "at": _iso(s.at),
                }
                for s in repo.signoffs(row.id)
            ]
            kw["mechanisms"] = [
                {"title": m.title, "reference": m.reference, "adopted_on": _iso(m.adopted_on), "added_by": m.added_by}
                for m in repo.mechanisms(row.id)
            ]
            kw["triggers"] = self._options(repo, row, d, actor)
        return IssueView(
            code=row.code,
            round=row.round_code,
            workflow=wf[1],
            workflow_version=wf[2],
            title=row.title,
            description=row.description,
            category=row.category,
            severity=row.severity,
            unit=row.unit,
            owner=row.owner,
            lead=row.lead,
            due_date=row.due_date,
            state=row.state,
            state_label=d.label(row.state),
            category_label=d.categories.get(row.category, Text(row.category, row.category)),
            severity_label=d.severities.get(row.severity, Text(row.severity, row.severity)),
            state_entered_at=row.state_entered_at,
            next_check_at=row.next_check_at,
            light=row.light,
            light_label=_light_label(d, row.light),
            escalation_level=row.escalation_level,
            recurrence_count=row.recurrence_count,
            version=row.version,
            source=source_of(row),
            source_label=sources_of(d).get(source_of(row)),
            confidential=bool(row.confidential),
            **kw,
        )

    def _options(self, repo: Repository, row: Any, d: WorkflowDefinition, actor: Actor) -> list[TriggerOption]:
        now = self.clock.now()
        out: list[TriggerOption] = []
        needs: set[str] = set()
        ts = d.transitions_from(row.state)
        for t in ts:
            needs |= t.needs
        facts = self._facts(repo, row, frozenset(needs))
        machine = machine_for(d)
        ctx = GuardContext(
            actor, min(actor.roles, default="-"), "-", row.state, now, local_date(now, row.round_tz), "-"
        )
        for t in ts:
            _, reasons = machine.choose_role(t, facts, replace(ctx, trigger=t.trigger))
            out.append(
                TriggerOption(t.trigger, t.label, t.dest, not reasons, sorted(t.roles), sorted(t.require), reasons)
            )
        return out

    def explain(self, code: str, trigger: str | None = None, *, actor: Actor) -> Explanation:
        """Why ``code`` can or cannot move (by ``trigger``, or by every trigger leaving its
        state): each role, guard, the period and the version, judged as a fire would."""
        now = self.clock.now()
        with self._read() as conn:
            repo = Repository(conn)
            row = self._visible(repo, code, actor)
            wf = repo.workflow_by_id(row.workflow_id)
            d = self._definition_from_row(wf)
            newest = repo.usable_workflow(wf.name) or wf  # where new work goes: never a deprecated version
            if trigger is not None:
                chosen = [t for t in d.transitions if t.trigger == trigger]
                here = [t for t in chosen if row.state in t.sources]
                ts = here or chosen
            else:
                ts = d.transitions_from(row.state)
            needs: set[str] = set()
            for t in ts:
                needs |= t.needs
            facts = self._facts(repo, row, frozenset(needs))
            today = local_date(now, row.round_tz)
            ctx = GuardContext(actor, min(actor.roles, default="-"), "-", row.state, now, today, "-")
            machine = machine_for(d)
            ex = Explanation(
                code=row.code,
                state=row.state,
                state_label=d.label(row.state),
                workflow=wf.name,
                version=wf.version,
                newest_version=newest.version,
                deprecated=bool(wf.deprecated),
                round=row.round_code,
                feedback_date=row.round_feedback_date,
                period_end=row.round_period_end,
                today=today,
                actor=actor.id,
                roles=sorted(actor.roles),
                triggers=[explain_transition(d, machine, t, facts, ctx) for t in ts],
            )
            if trigger is not None and not any(t.possible_here for t in ex.triggers):
                ex.notes.append(not_here(d, trigger, row.state))
            if d.states[row.state].final:
                ex.notes.append(Text(f"本问题已{d.label(row.state).zh}", f"this issue is {d.label(row.state).en}"))
            if newest.version > wf.version:
                ex.notes.append(
                    Text(
                        f"本问题按 {wf.name} 第 {wf.version} 版办理；已有第 {newest.version} 版，管理员可用 workflow migrate 迁移",
                        f"this issue follows {wf.name} v{wf.version}; v{newest.version} exists and an "
                        "administrator can move it with workflow migrate",
                    )
                )
            return ex

    def history(self, code: str, actor: Actor) -> list[dict[str, Any]]:
        with self._read() as conn:
            repo = Repository(conn)
            row = self._visible(repo, code, actor)
            tz = ZoneInfo(row.round_tz)
            return [
                {
                    "seq": e.seq,
                    "kind": e.kind,
                    "trigger": e.trigger,
                    "from": e.from_state,
                    "to": e.to_state,
                    "actor": e.actor_id,
                    "role": e.role,
                    "at": _iso(e.at),
                    "at_local": e.at.astimezone(tz).isoformat(),
                    "comment": e.comment,
                    "data": json.loads(e.data or "{}"),
                    "request_id": e.request_id,
                    "hash": e.hash,
                }
                for e in repo.events(row.id)
            ]

    def _finals_of(self, repo: Repository) -> Callable[[tuple[str, int]], frozenset[str]]:
        """The final states of any deployed version, by (name, version), looked up once each."""
        seen: dict[tuple[str, int], frozenset[str]] = {}

        def finals(version: tuple[str, int]) -> frozenset[str]:
            if version not in seen:
                row = repo.workflow(version[0], version[1]) if isinstance(version[1], int) else None
                d = self._definition_from_row(row) if row is not None else None
                seen[version] = frozenset(s.name for s in d.states.values() if s.final) if d else frozenset()
            return seen[version]

        return finals

    def verify(self, code: str, actor: Actor) -> ChainReport:
        """Recompute the issue's hash chain and check its head and state against the issue row."""
        with self._read() as conn:
            repo = Repository(conn)
            row = self._visible(repo, code, actor)
            d = self._definition(repo, row.workflow_id)
            rep, replay = verify_chain(
                code, repo.events(row.id), head_hash=row.last_hash, head_seq=row.seq, key=self.chain_key
            )
            compare_records(
                rep,
                replay,
                row,
                workflow=(d.name, d.version),
                final_states=self._finals_of(repo),
                signoffs=repo.signoffs(row.id),
                measures=repo.measures(row.id),
                evidence=repo.evidence(row.id),
                mechanisms=repo.mechanisms(row.id),
            )
            return rep

    def audit_verify(
        self, actor: Actor | None = None, *, issue_chunk: int = 1000, event_chunk: int = 20_000
    ) -> AuditReport:
        """Verify every issue's chain and records over the whole database (``verify`` for each
        issue), and find events that point to no issue.

        An operator's check: no actor, or one with the ``system`` or ``admin`` role over every
        unit (scope ``*``).  One read transaction (a snapshot: on PostgreSQL repeatable read),
        so writers carry on and the report is of one consistent moment.  Events are streamed in
        (issue_id, seq) order, ``event_chunk`` at a time (keyset pagination), and merged with
        the issues read ``issue_chunk`` at a time; each chunk's measures, evidence, sign-offs
        and mechanisms are read with one range query per table."""
        if actor is not None and (not actor.roles & {"system", "admin"} or ALL_ORGS not in actor.scope):
            raise Forbidden(
                Text(
                    "只有组织范围为全部（*）的 system 或 admin 角色可以审计整个数据库",
                    "only the system or admin role with scope * may audit the whole database",
                )
            )
        t0 = time.perf_counter()
        report = AuditReport()
        with self._read() as conn:
            if not self.db.is_sqlite:
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            repo = Repository(conn)
            finals = self._finals_of(repo)
            on: dict[int, tuple[str, int]] = {}
            stream = _event_stream(repo, event_chunk)
            pending = next(stream, None)
            after = 0
            while rows := repo.audit_issues(after, issue_chunk):
                records = repo.audit_records(rows[0].id, rows[-1].id)
                for row in rows:
                    while pending is not None and pending.issue_id < row.id:
                        report.orphan(pending)
                        pending = next(stream, None)
                    chain = []
                    while pending is not None and pending.issue_id == row.id:
                        chain.append(pending)
                        pending = next(stream, None)
                    if row.workflow_id not in on:
                        d = self._definition(repo, row.workflow_id)
                        on[row.workflow_id] = (d.name, d.version)
                    rep, replay = verify_chain(
                        row.code, chain, head_hash=row.last_hash, head_seq=row.seq, key=self.chain_key
                    )
                    compare_records(
                        rep,
                        replay,
                        row,
                        workflow=on[row.workflow_id],
                        final_states=finals,
                        signoffs=records["signoffs"].get(row.id, ()),
                        measures=records["measures"].get(row.id, ()),
                        evidence=records["evidence"].get(row.id, ()),
                        mechanisms=records["mechanisms"].get(row.id, ()),
                    )
                    report.issues += 1
                    report.events += rep.events
                    if not rep.ok:
                        report.bad.append(rep)
                after = rows[-1].id
            while pending is not None:  # beyond the last issue
                report.orphan(pending)
                pending = next(stream, None)
        report.seconds = time.perf_counter() - t0
        return report

    # --- backup and restore (SQLite) -------------------------------------------------------

    def backup(self, path: str | Path, *, force: bool = False) -> BackupInfo:
        """An online copy of the SQLite database at ``path`` (see storage/backup.py)."""
        with self._backup_errors():
            return storage_backup.backup(self.db, Path(path), force=force)

    def restore(self, path: str | Path, *, force: bool = False) -> BackupInfo:
        """Replace the SQLite database's contents with a checked backup, upgraded if older.
        Refused if the database holds data, unless ``force``."""

        def history_verifies(stage: Path) -> None:
            staged = Engine(f"sqlite:///{stage}", chain_key=None)
            staged.chain_key = self.chain_key
            try:
                audit = staged.audit_verify()
            finally:
                staged.db.dispose()
            if not audit.ok:
                eg = audit.bad[0].issue if audit.bad else f"{audit.orphan_events} orphan events"
                raise storage_backup.BackupRefused(
                    "invalid",
                    Text(
                        f"{path}：历史记录校验不通过（{len(audit.bad)} 个问题，如 {eg}），未做任何修改",
                        f"{path}: its history does not verify ({len(audit.bad)} issues, e.g. {eg}); nothing was changed",
                    ),
                )

        with self._backup_errors():
            info = storage_backup.restore(self.db, Path(path), force=force, check=history_verifies)
        self._defs.clear()  # workflow ids now name the restored database's rows
        return info

    @contextmanager
    def _backup_errors(self) -> Iterator[None]:
        try:
            with self._storage_errors():
                yield
        except storage_backup.BackupRefused as exc:
            if exc.kind == "unsupported":
                raise Unavailable(exc.text) from None
            if exc.kind == "conflict":
                raise Refused(exc.text, []) from None
            raise InvalidInput(exc.text, field="path") from None


def _event_stream(repo: Repository, chunk: int) -> Iterator[Any]:
    """Every event in (issue_id, seq, id) order, read ``chunk`` rows at a time."""
    after = (-1, 0, 0)
    while True:
        rows = repo.audit_events(after, chunk)
        yield from rows
        if len(rows) < chunk:
            return
        last = rows[-1]
        after = (last.issue_id, last.seq, last.id)


def _overlap(asked: Iterable[str], scope: Iterable[str]) -> list[str]:
    """The unit paths inside both ``asked`` and ``scope``: where one contains the other, the deeper."""
    out: set[str] = set()
    for a in asked:
        for sc in scope:
            if within(a, sc):
                out.add(a)
            elif within(sc, a):
                out.add(sc)
    return sorted(out)


def _recipient(d: WorkflowDefinition, row: Any, who: str) -> dict[str, Any]:
    """``user:ID`` is that person; a role with a holder is the person the issue names for it
    (its owner, its lead); any other role is that role within the issue's unit."""
    if who.startswith("user:"):
        return {"user": who[5:]}
    holder = d.roles[who].holder if who in d.roles else None
    if holder:
        return {"user": getattr(row, holder), "role": who}
    return {"role": who, "unit": row.unit}


def _check_version(code: str, row: Any, expected: int | None) -> None:
    """An edit made against a version the caller read (If-Match) is refused once the issue moved on."""
    if expected is not None and row.version != expected:
        raise ConcurrentUpdate(
            Text(
                f"问题 {code} 已被修改（版本 {row.version}，而非 {expected}）",
                f"issue {code} has changed (version {row.version}, not {expected})",
            ),
            version=row.version,
        )


def _light_label(d: WorkflowDefinition, light: str | None) -> Text | None:
    if light is None or not d.light_colours:
        return None
    return d.light_colours.get(light, Text(light, light))


def number_in_round(code: str, round_code: str) -> str:
    """The 序号 an office wrote for a problem: its code without the ``<round>-`` prefix."""
    return code[len(round_code) + 1 :] if code.startswith(round_code + "-") else code


def _fired(stage_fired: str | None) -> frozenset[str]:
    return frozenset(x for x in (stage_fired or "").split(",") if x)


def _wf_info(row: Any) -> WorkflowInfo:
    return WorkflowInfo(row.name, row.version, row.digest, row.deployed_at, row.deployed_by, bool(row.deprecated))


__all__ = ["Engine", "FireResult", "IssueView", "WorkflowInfo", "WorkflowInvalid", "add_months"]
