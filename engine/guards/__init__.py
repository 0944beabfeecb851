"""Guards: the rules a transition checks before it may fire.

``base`` holds what a guard is and the registry (:data:`guards`, :func:`register_guard`),
``params`` the readers that check a guard's parameters against the workflow, ``builtin`` the
guards zhenggai ships; importing this package registers them.
"""

from __future__ import annotations

from .base import (
    NEEDS,
    PLUGIN_GROUP,
    GuardFn,
    GuardRegistry,
    GuardType,
    Reason,
    describe_guards,
    guards,
    register_guard,
)
from .builtin import (
    closable_in_period,
    due_within_period,
    evidence_attached,
    four_eyes,
    has_measures,
    long_term_mechanism,
    measures_complete,
    measures_done,
    signed_off,
)
from .params import (
    ClosableParams,
    Condition,
    ParamError,
    ParamParser,
    SignedOffParams,
    TargetParams,
    Vocabulary,
    categories_param,
    closable_param,
    condition_param,
    evidence_param,
    measures_complete_param,
    no_params,
    signed_off_param,
)

__all__ = [
    "NEEDS",
    "PLUGIN_GROUP",
    "ClosableParams",
    "Condition",
    "GuardFn",
    "GuardRegistry",
    "GuardType",
    "ParamError",
    "ParamParser",
    "Reason",
    "SignedOffParams",
    "TargetParams",
    "Vocabulary",
    "categories_param",
    "closable_in_period",
    "closable_param",
    "condition_param",
    "describe_guards",
    "due_within_period",
    "evidence_attached",
    "evidence_param",
    "four_eyes",
    "guards",
    "has_measures",
    "long_term_mechanism",
    "measures_complete",
    "measures_complete_param",
    "measures_done",
    "no_params",
    "register_guard",
    "signed_off",
    "signed_off_param",
]
