"""A length of time as workflows write it: ``{days: N}`` or ``{working_days: N}``."""

from __future__ import annotations

from dataclasses import dataclass

UNITS = frozenset({"days", "working_days"})


@dataclass(frozen=True, slots=True)
class Duration:
    amount: int
    unit: str  # days | working_days

    def to_dict(self) -> dict[str, int]:
        return {self.unit: self.amount}

    @classmethod
    def of(cls, raw: dict[str, int]) -> Duration:
        ((unit, amount),) = raw.items()
        return cls(amount, unit)
