"""Workflow definitions: the frozen model, and the YAML reader that validates a file into it.

``model`` holds the plain frozen dataclasses a deployed workflow is; ``reader`` loads and
checks a file (with ``checker``, ``transitions`` and ``escalation`` for its sections, and
``yamlsrc`` for line numbers), refusing it with every problem found; ``builtin`` finds the
workflows zhenggai ships.  Everything is importable from here.
"""

from __future__ import annotations

from ..errors import WorkflowInvalid
from .builtin import BUILTIN_DIR, BUILTIN_WORKFLOWS, builtin, builtin_path
from .checker import NAME_CHARS
from .model import (
    ACTIONS,
    CONDITIONS,
    DEFAULT_PUBLIC_FIELDS,
    EDIT_ACTIONS,
    MAX_VERSION,
    REPORT_FIELDS,
    REQUIRABLE_FIELDS,
    ROLE_HOLDERS,
    SYSTEM_ROLE,
    DefinitionProblem,
    Escalation,
    EscalationRule,
    GuardUse,
    LightRule,
    Lights,
    RoleDef,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
)
from .reader import TOP_KEYS, load_definition, parse_definition
from .transitions import TRANSITION_KEYS

__all__ = [
    "ACTIONS",
    "BUILTIN_DIR",
    "BUILTIN_WORKFLOWS",
    "CONDITIONS",
    "DEFAULT_PUBLIC_FIELDS",
    "EDIT_ACTIONS",
    "MAX_VERSION",
    "NAME_CHARS",
    "REPORT_FIELDS",
    "REQUIRABLE_FIELDS",
    "ROLE_HOLDERS",
    "SYSTEM_ROLE",
    "TOP_KEYS",
    "TRANSITION_KEYS",
    "DefinitionProblem",
    "Escalation",
    "EscalationRule",
    "GuardUse",
    "LightRule",
    "Lights",
    "RoleDef",
    "StateDef",
    "TransitionDef",
    "WorkflowDefinition",
    "WorkflowInvalid",
    "builtin",
    "builtin_path",
    "load_definition",
    "parse_definition",
]
