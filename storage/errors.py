"""What a repository reports that its caller must decide about."""

from __future__ import annotations


class Duplicate(Exception):
    """A row with the same unique key exists (a concurrent twin won the insert)."""


class StaleVersion(Exception):
    """The issue changed since it was read: the write matched no row."""
