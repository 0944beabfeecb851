"""Repositories by aggregate, behind the thin front of ``storage/repository.py``."""
