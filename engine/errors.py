"""Errors the engine raises; each carries bilingual text and a stable machine code."""

from __future__ import annotations

from typing import Any

from ..i18n import Text


class ZhenggaiError(Exception):
    """Base of every refusal the engine reports to a caller (CLI, OA system, HTTP layer)."""

    code = "error"

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


class InvalidInput(ZhenggaiError):
    """An argument is wrong; ``field`` names it."""

    code = "invalid_input"


class Forbidden(ZhenggaiError):
    """The actor may not see or touch this issue (outside its org scope)."""

    code = "forbidden"


class ConcurrentUpdate(ZhenggaiError):
    """Someone else changed the issue first; nothing was written, read it again and retry."""

    code = "concurrent_update"


class Refused(ZhenggaiError):
    """A trigger was refused: ``reasons`` lists every failed rule (role, required field, guard)."""

    code = "refused"

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


class StorageUnavailable(ZhenggaiError):
    """The database cannot be reached or opened."""

    code = "storage_unavailable"


class Unavailable(ZhenggaiError):
    """Something this machine lacks (a CJK font, an optional package); the message says how
    to get it.  Nothing was written."""

    code = "unavailable"


class ImportInvalid(ZhenggaiError):
    """An imported list was refused; ``details["errors"]`` lists every row and column."""

    code = "import_invalid"

    def render(self, lang: str | None = None) -> str:
        lines = [self.text.render(lang)]
        for e in self.details.get("errors", []):
            reason = Text(e["reason"]["zh"], e["reason"]["en"]).render(lang)
            lines.append(f"  - 第 {e['row']} 行 / row {e['row']} [{e['column']}] {reason}")
        return "\n".join(lines)
