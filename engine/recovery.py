"""Backup and restore of the embedded SQLite database (see storage/backup.py).

A restore puts only a checked backup's rows live, and only once its whole history verifies
with this engine's chain key (``audit verify`` over the staged copy)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..i18n import Text
from ..storage import backup as storage_backup
from ..storage.backup import BackupInfo
from .core import Core
from .errors import InvalidInput, Refused, Unavailable
from .verification import audit


def backup(core: Core, path: str | Path, *, force: bool = False) -> BackupInfo:
    with _backup_errors(core):
        return storage_backup.backup(core.db, Path(path), force=force)


def restore(
    core: Core, path: str | Path, *, force: bool = False, checks: Sequence[Callable[[Core], Text | None]] = ()
) -> BackupInfo:
    def history_verifies(stage: Path) -> None:
        staged = Core(f"sqlite:///{stage}", chain_key=None, clock=core.clock)
        staged.chain_key = core.chain_key
        try:
            report = audit(staged)
            refusals = [why for check in checks if (why := check(staged)) is not None] if report.ok else []
        finally:
            staged.db.dispose()
        if not report.ok:
            eg = (  # the rules first: a changed workflow is what makes its issues fail
                f"workflow {report.bad_workflows[0]}"
                if report.bad_workflows
                else report.bad[0].issue
                if report.bad
                else f"{report.orphan_events} orphan events"
            )
            raise storage_backup.BackupRefused(
                "invalid",
                Text(
                    f"{path}：历史记录校验不通过（{len(report.bad)} 个问题，如 {eg}），未做任何修改",
                    f"{path}: its history does not verify ({len(report.bad)} issues, e.g. {eg}); nothing was changed",
                ),
            )
        if refusals:
            raise storage_backup.BackupRefused(
                "invalid",
                Text(f"{path}：{refusals[0].zh}，未做任何修改", f"{path}: {refusals[0].en}; nothing was changed"),
            )

    with _backup_errors(core):
        info = storage_backup.restore(core.db, Path(path), force=force, check=history_verifies)
    core.definitions.clear()  # workflow ids now name the restored database's rows
    return info


@contextmanager
def _backup_errors(core: Core) -> Iterator[None]:
    try:
        with core.storage_errors():
            yield
    except storage_backup.BackupRefused as exc:
        if exc.kind == "unsupported":
            raise Unavailable(exc.text) from None
        if exc.kind == "conflict":
            raise Refused(exc.text, []) from None
        raise InvalidInput(exc.text, field="path") from None
