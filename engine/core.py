"""What every engine module works with: the database and its transactions, the clock, the
parsed workflow versions, the chain key and the notice channels.

:class:`Engine` (service.py) is a :class:`Core` whose public methods each hand the work to the
module that owns it, passing itself — as SQLAlchemy's ``Session`` hands a flush to its unit of
work.  The modules type their first argument as ``Core``, so none of them imports the façade.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DataError

from ..i18n import Text
from ..storage.database import Database, DatabaseBusy, DatabaseUnavailable
from ..storage.repository import Repository
from ..storage.rows import WorkflowRow
from .clock import Clock, FixedClock, SystemClock, to_utc
from .definition import WorkflowDefinition, parse_definition
from .errors import Busy, HistoryTampered, InvalidInput, StorageUnavailable, ZhenggaiError
from .history import ChainKey
from .notifiers import NotifierRegistry, RetryPolicy


def digest_matches(row: WorkflowRow) -> bool:
    """Whether a stored workflow version's text has the digest it was deployed with."""
    return hmac.compare_digest(hashlib.sha256(row.source.encode("utf-8")).hexdigest(), row.digest)


def storage_error(exc: Exception) -> ZhenggaiError:
    """The storage layer's trouble as the engine's own error."""
    if isinstance(exc, DatabaseBusy):
        return Busy(
            Text(
                "数据库正忙（其他操作长时间占用），未做任何修改，请稍后重试",
                "the database is busy (held by other writers); nothing was changed, retry later",
            )
        )
    return StorageUnavailable(Text(f"无法连接数据库：{exc}", f"cannot reach the database: {exc}"))


#: the snapshot this thread is reading from, if any: (the database it is of, its connection)
_SNAPSHOT: ContextVar[tuple[Database, Connection] | None] = ContextVar("zhenggai_snapshot", default=None)


class _InSnapshot:
    """A read inside a snapshot: the snapshot's connection, no transaction of its own."""

    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __enter__(self) -> Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        return None


class Tx:
    """An engine call's transaction: storage trouble becomes the engine's own errors."""

    __slots__ = ("inner",)

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __enter__(self) -> Connection:
        try:
            conn: Connection = self.inner.__enter__()
        except (DatabaseBusy, DatabaseUnavailable) as exc:
            raise storage_error(exc) from None
        return conn

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            self.inner.__exit__(exc_type, exc, tb)
        except (DatabaseBusy, DatabaseUnavailable) as failure:
            raise storage_error(failure) from None
        if isinstance(exc, (DataError, OverflowError)):  # rolled back above; the caller's input is at fault
            raise InvalidInput(
                Text(
                    "输入的值超出存储允许的范围（数字过大，或文本含 NUL 字符）",
                    "a value is out of range for storage (a number too large, or text with a NUL character)",
                )
            ) from None


class Definitions:
    """Parsed workflow versions by id: a deployed version never changes, so each is parsed
    once per process (a restore, which renumbers them, clears the cache).

    A stored version is used only if its text still has the digest it was deployed with: the
    rules themselves are checked like the history they govern (an edited YAML would otherwise
    let a problem be closed straight from ``identified``)."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[WorkflowDefinition, str, int]] = {}
        self._lock = threading.Lock()

    def of_row(self, row: WorkflowRow) -> WorkflowDefinition:
        cached = self._by_id.get(row.id)
        if cached is None:
            with self._lock:
                cached = self._by_id.get(row.id)
                if cached is None:
                    if not digest_matches(row):
                        raise HistoryTampered(
                            Text(
                                f"工作流 {row.name} 第 {row.version} 版的存储内容与其摘要不符（被绕过引擎修改），拒绝使用",
                                f"workflow {row.name} v{row.version} as stored does not match its digest "
                                "(changed behind the engine); it is not used",
                            ),
                            workflow=row.name,
                            version=row.version,
                        )
                    d = parse_definition(row.source, f"{row.name} v{row.version}")
                    cached = self._by_id[row.id] = (d, row.name, row.version)
        return cached[0]

    def get(self, repo: Repository, workflow_id: int) -> WorkflowDefinition:
        cached = self._by_id.get(workflow_id)
        if cached is not None:
            return cached[0]
        row = repo.workflows.by_id(workflow_id)
        assert row is not None, f"workflow {workflow_id} is referenced but not stored"
        return self.of_row(row)

    def clear(self) -> None:
        with self._lock:
            self._by_id.clear()


class Core:
    """The engine's state; see the module's docstring.

    ``clock`` is the engine's time (tests and simulations inject one).  ``as_of`` reads the
    database as of another moment — statistics, reports, a rehearsed sweep — without moving the
    clock writes are dated by: a write under ``as_of`` is refused unless ``backdate`` says it is
    data entry of the past, and then each of its events records when it was really entered
    (see ``journal.stamp``).  Nothing is ever dated after the clock's now."""

    def __init__(
        self,
        db: str | Database | None = None,
        *,
        clock: Clock | None = None,
        chain_key: str | bytes | None = None,
        as_of: datetime | date | str | None = None,
        backdate: bool = False,
    ) -> None:
        self.db = db if isinstance(db, Database) else Database(db)
        self.wall: Clock = clock or SystemClock()  # when things really happen
        self.as_of = to_utc(as_of) if as_of is not None else None
        self.backdate = backdate
        self.clock: Clock = FixedClock(self.as_of) if self.as_of is not None else self.wall
        self.notifiers = NotifierRegistry()
        self.channels: list[str] = ["log"]  # which notifiers each notice goes to
        self.retry = RetryPolicy()
        secret = chain_key if chain_key is not None else os.environ.get("ZHENGGAI_CHAIN_KEY")
        self.chain_key: ChainKey | None = ChainKey.from_secret(secret) if secret else None
        self.definitions = Definitions()

    def write(self) -> Tx:
        held = _SNAPSHOT.get()
        if held is not None and held[0] is self.db:
            raise RuntimeError("a write inside a read snapshot (Core.snapshot) would end the snapshot")
        return Tx(self.db.write())

    def read(self) -> Tx:
        held = _SNAPSHOT.get()
        if held is not None and held[0] is self.db:
            return Tx(_InSnapshot(held[1]))
        return Tx(self.db.read())

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read inside the block sees one moment of the database: a report draft reads
        the numbers, the problems and the charts' series in several calls, and none of them
        may see a write another did not.  One read transaction, repeatable read (and read
        only) on PostgreSQL; on SQLite a read transaction is one snapshot of the WAL already.
        Writing inside it is a mistake and is refused.  Nested snapshots are the outer one."""
        held = _SNAPSHOT.get()
        if held is not None and held[0] is self.db:
            yield
            return
        with self.read() as conn:
            if not self.db.is_sqlite:
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            token = _SNAPSHOT.set((self.db, conn))
            try:
                yield
            finally:
                _SNAPSHOT.reset(token)

    def transaction(self, *, write: bool = False) -> Tx:
        """A transaction on the engine's database for layers over it (the HTTP service keeps
        its clients and idempotency keys there), with storage trouble reported as the
        engine's own errors.  Yields a connection."""
        return self.write() if write else self.read()

    @contextmanager
    def storage_errors(self) -> Iterator[None]:
        try:
            yield
        except (DatabaseBusy, DatabaseUnavailable) as exc:
            raise storage_error(exc) from None
