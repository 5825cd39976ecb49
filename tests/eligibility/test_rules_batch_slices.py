"""The batch evaluator gives the same answers whatever the slices of households it takes.

The property test of `test_rules_batch` uses tables smaller than one slice; here slices of a
few households make every evaluation cross slice boundaries, where member layouts, shared
columns and the arena's reused memory change from one slice to the next.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selaras_eligibility.rules.batch import evaluate_rule_sets, evaluation
from selaras_eligibility.rules.compiler import compile_rule_set
from selaras_eligibility.rules.document import validate_document
from selaras_registry.demo import generate_rows
from tests.eligibility.rulesets import REALISTIC, compiled
from tests.eligibility.test_rules_batch import (
    ON,
    PARAMETERS,
    VARIANT_PARAMETERS,
    assert_agree,
    assert_same,
    booleans,
    households_st,
    snapshot_table,
)


@given(
    households=st.lists(households_st, min_size=2, max_size=12),
    rules=st.lists(booleans("household", 3), min_size=1, max_size=3),
    on=st.sampled_from([date(2024, 12, 31), ON, date(2025, 3, 2)]),
    size=st.integers(1, 5),
)
@settings(
    max_examples=int(os.environ.get("SELARAS_HYPOTHESIS_EXAMPLES", "150")),
    derandomize="SELARAS_HYPOTHESIS_EXAMPLES" not in os.environ,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_small_slices_agree_with_explain_and_with_one_slice(
    monkeypatch: pytest.MonkeyPatch,
    households: list[dict[str, Any]],
    rules: list[Any],
    on: date,
    size: int,
) -> None:
    rule_set = compiled(*rules, parameters=PARAMETERS)
    variant = compiled(*rules, parameters=VARIANT_PARAMETERS)
    table = snapshot_table(households)
    whole = evaluate_rule_sets([rule_set, variant], table, on)
    with monkeypatch.context() as patch:
        patch.setattr(evaluation, "SLICE", size)
        assert_agree(rule_set, table, on)
        sliced = evaluate_rule_sets([rule_set, variant], table, on)
    for part, alone in zip(sliced, whole, strict=True):
        assert_same(part, alone)


def test_realistic_rules_in_slices_agree_with_one_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    rule_set = compile_rule_set(validate_document(REALISTIC))
    table = snapshot_table(list(generate_rows(2000, seed=11)))
    [whole] = evaluate_rule_sets([rule_set], table, ON)
    monkeypatch.setattr(evaluation, "SLICE", 300)
    [sliced] = evaluate_rule_sets([rule_set], table, ON)
    assert_same(sliced, whole)
    assert sorted(set(sliced.status.tolist())) == [-1, 0, 1]  # not vacuous


def test_a_table_without_households_gives_empty_answers() -> None:
    rule_set = compile_rule_set(validate_document(REALISTIC))
    table = snapshot_table([])
    [result] = evaluate_rule_sets([rule_set], table, ON)
    assert result.status.tolist() == []
    assert all(column.status.tolist() == [] for column in result.criteria)
    assert all(dict(column.missing) == {} for column in result.criteria)
