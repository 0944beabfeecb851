"""The workflows shipped with zhenggai (``workflows/*.yaml``), by name."""

from __future__ import annotations

from pathlib import Path

from .model import WorkflowDefinition
from .reader import load_definition

BUILTIN_DIR = Path(__file__).resolve().parent.parent.parent / "workflows"


#: the workflows shipped with zhenggai, deployed by ``zhenggai init``
BUILTIN_WORKFLOWS = ("rectification", "audit")


def builtin_path(name: str) -> Path:
    return BUILTIN_DIR / f"{name}.yaml"


def builtin(name: str = "rectification") -> WorkflowDefinition:
    return load_definition(builtin_path(name))
