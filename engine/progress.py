"""How far a problem's measures are (分期分批): measures done of all, and when the next one
is due.  Pure: a problem's measures in, the figures and their words out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from ..i18n import Text


class MeasureLike(Protocol):
    @property
    def due_date(self) -> date | None: ...

    @property
    def done_at(self) -> Any: ...


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    next_due: date | None  # the earliest due date among the measures not yet done

    @property
    def fraction(self) -> str:
        """``2/3``; empty for a problem with no measures."""
        return f"{self.done}/{self.total}" if self.total else ""

    def text(self) -> Text:
        """``措施完成 2/3，下一时限 2026-05-31`` / ``2/3 measures done, next due 2026-05-31``."""
        if not self.total:
            return Text("尚无整改措施", "no measures yet")
        nxt = (
            (f"，下一时限 {self.next_due}", f", next due {self.next_due}")
            if self.next_due
            else (("，已全部完成", "") if self.done == self.total else ("", ""))
        )
        return Text(f"措施完成 {self.fraction}{nxt[0]}", f"{self.fraction} measures done{nxt[1]}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "total": self.total,
            "next_due": self.next_due.isoformat() if self.next_due else None,
        }


def progress(measures: Iterable[MeasureLike]) -> Progress:
    done = total = 0
    due: list[date] = []
    for m in measures:
        total += 1
        if m.done_at is not None:
            done += 1
        elif m.due_date is not None:
            due.append(m.due_date)
    return Progress(done, total, min(due, default=None))
