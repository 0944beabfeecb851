"""Errors the engine raises; each carries bilingual text, a stable machine code, and how it is
answered: the exit status of the command line and the HTTP status of the API.

The statuses live on the classes (as click's exceptions carry their ``exit_code``) so that a
new error kind brings its answer with it, and the CLI and the API never keep tables of their own.

| error | code | exit | HTTP |
|---|---|---|---|
| :class:`InvalidInput` | ``invalid_input`` | 2 | 422 |
| :class:`ImportInvalid` | ``import_invalid`` | 2 | 422 |
| :class:`WorkflowInvalid` | ``workflow_invalid`` | 2 | 422 |
| :class:`Refused` | ``refused`` | 3 | 409 |
| :class:`NotFound` | ``not_found`` | 4 | 404 |
| :class:`Forbidden` | ``forbidden`` | 5 | 403 |
| :class:`ConcurrentUpdate` | ``concurrent_update`` | 6 | 409 |
| :class:`Busy` | ``busy`` | 6 | 503 |
| :class:`NotInitialised` | ``not_initialised`` | 7 | 503 |
| :class:`HistoryTampered` | ``history_tampered`` | 8 | 409 |
| :class:`StorageUnavailable` | ``storage_unavailable`` | 9 | 503 |
| :class:`Unavailable` | ``unavailable`` | 10 | 501 |
| :class:`Cancelled` | ``cancelled`` | 130 | 499 |
| any other :class:`ZhenggaiError` | its ``code`` | 1 | 400 |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ..i18n import Text


class ZhenggaiError(Exception):
    """Base of every refusal the engine reports to a caller (CLI, OA system, HTTP layer)."""

    code = "error"
    exit_code = 1
    http_status = 400

    def __init__(self, text: Text, **details: Any) -> None:
        super().__init__(text.render())
        self.text = text
        self.details = details

    def render(self, lang: str | None = None) -> str:
        return self.text.render(lang)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.text.to_dict(), **self.details}


class NotFound(ZhenggaiError):
    code = "not_found"
    exit_code = 4
    http_status = 404


class InvalidInput(ZhenggaiError):
    """An argument is wrong; ``field`` names it."""

    code = "invalid_input"
    exit_code = 2
    http_status = 422


class Forbidden(ZhenggaiError):
    """The actor may not see or touch this issue (outside its org scope)."""

    code = "forbidden"
    exit_code = 5
    http_status = 403


class ConcurrentUpdate(ZhenggaiError):
    """Someone else changed the issue first; nothing was written, read it again and retry."""

    code = "concurrent_update"
    exit_code = 6
    http_status = 409


class Refused(ZhenggaiError):
    """A trigger was refused: ``reasons`` lists every failed rule (role, required field, guard)."""

    code = "refused"
    exit_code = 3
    http_status = 409

    def __init__(self, text: Text, reasons: list[tuple[str, Text]], **details: Any) -> None:
        super().__init__(text, **details)
        self.reasons = reasons

    def render(self, lang: str | None = None) -> str:
        lines = [self.text.render(lang)]
        lines += [f"  - [{rule}] {reason.render(lang)}" for rule, reason in self.reasons]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["reasons"] = [{"rule": r, "reason": t.to_dict()} for r, t in self.reasons]
        return d


class Busy(ZhenggaiError):
    """Other writers held the database for longer than the wait allows; nothing was written."""

    code = "busy"
    exit_code = 6
    http_status = 503


class StorageUnavailable(ZhenggaiError):
    """The database cannot be reached or opened."""

    code = "storage_unavailable"
    exit_code = 9
    http_status = 503


class NotInitialised(ZhenggaiError):
    """There is no database yet, or its schema is behind this version: run ``zhenggai init``."""

    code = "not_initialised"
    exit_code = 7
    http_status = 503


class HistoryTampered(ZhenggaiError):
    """A verification found history that does not match its hash chain or its records."""

    code = "history_tampered"
    exit_code = 8
    http_status = 409


class Unavailable(ZhenggaiError):
    """Something this machine lacks (a CJK font, an optional package); the message says how
    to get it.  Nothing was written."""

    code = "unavailable"
    exit_code = 10
    http_status = 501


class Cancelled(ZhenggaiError):
    """The caller stopped waiting (a client that went away, a command interrupted) and the
    work stopped with it; nothing was left half-done."""

    code = "cancelled"
    exit_code = 130
    http_status = 499


class ImportInvalid(ZhenggaiError):
    """An imported list was refused; ``details["errors"]`` lists every row and column."""

    code = "import_invalid"
    exit_code = 2
    http_status = 422

    def render(self, lang: str | None = None) -> str:
        lines = [self.text.render(lang)]
        for e in self.details.get("errors", []):
            reason = Text(e["reason"]["zh"], e["reason"]["en"]).render(lang)
            no = e.get("no")
            zh, en = (
                (f"第 {e['row']} 行（序号 {no}）", f"row {e['row']} (no. {no})")
                if no
                else (f"第 {e['row']} 行", f"row {e['row']}")
            )
            lines.append(f"  - {zh} / {en} [{e['column']}] {reason}")
        return "\n".join(lines)


class Problem(Protocol):
    """One error found in a workflow file (``definition.DefinitionProblem``)."""

    def render(self, lang: str | None = None) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


class WorkflowInvalid(ZhenggaiError, ValueError):
    """A workflow definition was refused; ``problems`` lists every error found, each with its
    file, line and key."""

    code = "workflow_invalid"
    exit_code = 2
    http_status = 422

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(Text(f"工作流定义有 {n} 处错误：", f"the workflow has {n} error{'s' if n != 1 else ''}:"))
        self.args = ("\n".join(p.render() for p in self.problems),)

    def __str__(self) -> str:
        return str(self.args[0])

    def render(self, lang: str | None = None) -> str:
        return "\n".join([self.text.render(lang), *("  " + p.render(lang) for p in self.problems)])

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "problems": [p.to_dict() for p in self.problems]}
