"""Evaluate compiled rule sets on the registry's Arrow snapshot, column by column.

The input is the snapshot table (one row per household, members in a nested list). Every node
of a rule tree is evaluated for all households of a slice at once (or, inside member
operations, for all their members) as numpy arrays: values and a `known` mask, so the
three-valued logic of `explain` carries over without a Python loop per household. Members
are laid out slot by slot (`members`), so folding them back per household is a few
contiguous operations. What several rule sets compute in common is computed once
(`evaluation`), and only the fields the rules read are decoded (`snapshot`).

Codes are compared as strings where a rule compares a field with literals, else as integer
ids from one vocabulary per evaluation (0 is null, which is a value in its own right for
`disability.*` and `chronic_illness`). Numbers are float64, or integers where they are whole
(ages, counts), exact for integers up to 2**53 (number literals are at most 10**15).

Alongside each criterion's status, `missing` says for each field which households' unknown
answer it explains, with the same rules as `explain` (a decided `and`/`or`/quantifier drops
the missing fields of its operands; `sum_members` stops at its first unknown member). Member
fields are named `members.<field>` (`members.birth_date` for age), without a member index.
The missing fields are worked out when first read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from selaras_eligibility.rules.batch.evaluation import Evaluation
from selaras_eligibility.rules.batch.values import (
    FALSE,
    TRUE,
    UNKNOWN,
    BatchResult,
    CriterionColumn,
)
from selaras_eligibility.rules.explain import check_in_force
from selaras_eligibility.rules.nodes import CompiledRuleSet

__all__ = [
    "FALSE",
    "TRUE",
    "UNKNOWN",
    "BatchResult",
    "CriterionColumn",
    "evaluate_batch",
    "evaluate_rule_sets",
]


def evaluate_batch(
    compiled: CompiledRuleSet, table: pa.Table | pa.RecordBatch, on: date
) -> BatchResult:
    """Evaluate every criterion on every household of a snapshot table as of `on`."""
    check_in_force(compiled, on)
    return Evaluation([compiled], table, on).results()[0]


def evaluate_rule_sets(
    rule_sets: Sequence[CompiledRuleSet], table: pa.Table | pa.RecordBatch, on: date
) -> list[BatchResult]:
    """Evaluate several rule sets on one table, decoding each column only once and
    evaluating what they have in common once."""
    for rule_set in rule_sets:
        check_in_force(rule_set, on)
    return Evaluation(rule_sets, table, on).results()
