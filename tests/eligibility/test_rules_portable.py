"""Exported JsonLogic agrees with the service, checked with an independent JsonLogic library."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from json_logic import jsonLogic  # panzi-json-logic: an independent, pure-Python JsonLogic

from selaras_eligibility.rules.compiler import compile_rule_set
from selaras_eligibility.rules.document import validate_document
from selaras_eligibility.rules.errors import RuleSetNotInForce
from selaras_eligibility.rules.explain import evaluate
from selaras_eligibility.rules.portable import to_jsonlogic, to_jsonlogic_input
from selaras_registry.demo import generate_rows
from tests.eligibility.rulesets import REALISTIC, compiled, household, member

HOUSEHOLDS = 3000
EXPECTED = {"true": True, "false": False}


def _has_null_member_field(household: dict[str, Any]) -> bool:
    return any(
        value is None
        for m in household["members"]
        for key, value in m.items()
        if key not in ("disability", "chronic_illness")
    )


@pytest.mark.parametrize("on", [date(2025, 6, 30), date(2026, 1, 1)])
def test_export_agrees_with_the_service_on_thousands_of_households(on: date) -> None:
    rule_set = compile_rule_set(validate_document(REALISTIC))
    export = to_jsonlogic(rule_set, on)
    rules = {c["id"]: c["rule"] for c in export["criteria"]}
    requires = {c["id"]: c["requires"] for c in export["criteria"]}
    compared: Counter[str] = Counter()
    outcomes: Counter[tuple[str, str]] = Counter()
    for row in generate_rows(HOUSEHOLDS, seed=4):
        result = evaluate(rule_set, row, on)
        portable = to_jsonlogic_input(row, on)
        for criterion in result.criteria:
            answer = jsonLogic(rules[criterion.id], portable)
            outcomes[criterion.id, criterion.status] += 1
            if jsonLogic({"missing": requires[criterion.id]}, portable):
                # The export answers null (unknown) whenever a household-level field it reads
                # is missing, even where the service can still decide (documented).
                assert answer is None, (criterion.id, row["id"])
                continue
            if criterion.status == "unknown":
                # Unknown maps to null when a household-level field is missing; with only
                # member-level data missing JsonLogic reads null as false/0 (documented).
                assert _has_null_member_field(row), (criterion.id, row["id"])
                continue
            assert answer is EXPECTED[criterion.status], (criterion.id, row["id"], portable)
            compared[criterion.id] += 1
    # The comparison is not vacuous: each criterion was checked on many households, with both
    # answers occurring.
    for criterion_id in rules:
        assert compared[criterion_id] >= 1000, (criterion_id, compared)
        assert outcomes[criterion_id, "true"] > 0 and outcomes[criterion_id, "false"] > 0
    assert outcomes["pkh_desil", "unknown"] > 0  # households outside the national registry


def test_export_fills_in_parameters_for_the_date() -> None:
    rule_set = compile_rule_set(validate_document(REALISTIC))
    early = to_jsonlogic(rule_set, date(2025, 12, 31))["criteria"][0]
    late = to_jsonlogic(rule_set, date(2026, 1, 1))["criteria"][0]
    assert early["rule"] == {"if": [{"missing": ["desil"]}, None, {"<=": [{"var": "desil"}, 4]}]}
    assert late["rule"]["if"][2] == {"<=": [{"var": "desil"}, 5]}
    assert late["requires"] == ["desil"]
    with pytest.raises(RuleSetNotInForce):
        to_jsonlogic(rule_set, date(2020, 1, 1))


def test_export_uses_only_standard_operations() -> None:
    standard = {
        "var", "missing", "if", "==", "!=", "<", "<=", ">", ">=", "!", "and", "or", "in",
        "+", "-", "*", "/", "%", "min", "max", "some", "all", "none", "filter", "reduce",
    }  # fmt: skip
    used: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for op, args in node.items():
                used.add(op)
                walk(args)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    rule_set = compile_rule_set(validate_document(REALISTIC))
    walk([c["rule"] for c in to_jsonlogic(rule_set, date(2026, 1, 1))["criteria"]])
    assert used <= standard
    assert {"reduce", "filter", "some", "all", "none", "%"} <= used


@pytest.mark.parametrize(
    ("born", "age"),
    [("1980-03-01", 46), ("1980-03-02", 45), ("2000-02-29", 26), ("2025-12-31", 0)],
)
def test_desugared_age_is_exact(born: str, age: int) -> None:
    rule_set = compiled({"some": [{"var": "members"}, {"==": [{"age": []}, age]}]})
    on = date(2026, 3, 1)
    data = household(member(birth_date=born))
    rule = to_jsonlogic(rule_set, on)["criteria"][0]["rule"]
    assert evaluate(rule_set, data, on).criteria[0].status == "true"
    assert jsonLogic(rule, to_jsonlogic_input(data, on)) is True
    assert to_jsonlogic_input(data, on)["members"][0]["age"] == age


def test_portable_input_has_no_identity() -> None:
    data = household(member(nik="7303084107850001", name="Hasnah"))
    portable = to_jsonlogic_input(data | {"kk_number": "7303081203150004"}, date(2026, 3, 1))
    text = repr(portable)
    assert "Hasnah" not in text and "7303084107850001" not in text and "730308120" not in text
    assert portable["members"][0]["birth_ymd"] == 19850701
    assert portable["members"][0]["disability"] == {"type": None, "severity": None}
