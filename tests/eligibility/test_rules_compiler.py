"""Compile-time validation: unknown operations and fields, type errors, limits, hostile rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from selaras_eligibility.rules import limits
from selaras_eligibility.rules.compiler import compile_rule_set
from selaras_eligibility.rules.document import load_document, validate_document
from selaras_eligibility.rules.errors import RuleSetInvalid
from selaras_eligibility.rules.fields import CODE_LISTS
from selaras_registry import codes
from tests.eligibility.rulesets import REALISTIC, compiled, document


def problems(*rules: Any, parameters: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(path, code) of every problem the compiler finds."""
    with pytest.raises(RuleSetInvalid) as caught:
        compiled(*rules, parameters=parameters)
    return [(p.path, p.code) for p in caught.value.problems]


def test_realistic_rule_set_compiles() -> None:
    rule_set = compile_rule_set(validate_document(REALISTIC))
    assert [c.id for c in rule_set.criteria][:3] == ["pkh_desil", "pkh_component", "school_aid"]
    assert rule_set.criteria[0].fields == ("desil",)
    assert rule_set.criteria[0].parameters == ("max_desil",)


def test_unknown_operation_and_field_point_at_the_node() -> None:
    found = problems(
        {"and": [{"<=": [{"var": "desil"}, 4]}, {">=": [{"var": "desil"}, {"eval": "1"}]}]},
        {"and": [True, {"==": [{"var": "housing.roof_type"}, "seng"]}]},
    )
    assert found == [
        ("criteria[0].rule.and[1].>=[1]", "unknown_operation"),
        ("criteria[1].rule.and[1].==[0].var", "unknown_field"),
    ]


def test_all_problems_are_reported_not_only_the_first() -> None:
    found = problems({"or": [{"foo": 1}, {"var": "nope"}, 3]})
    assert found == [
        ("criteria[0].rule.or[0]", "unknown_operation"),
        ("criteria[0].rule.or[1].var", "unknown_field"),
        ("criteria[0].rule.or[2]", "type_error"),
    ]


@pytest.mark.parametrize(
    ("rule", "path", "code"),
    [
        ({"==": [{"var": "village_code"}, 7303]}, "criteria[0].rule.==", "type_error"),
        ({"<": [{"var": "housing.floor"}, 3]}, "criteria[0].rule.<[0]", "type_error"),
        ({"and": [{"var": "desil"}]}, "criteria[0].rule.and[0]", "type_error"),
        ({"+": [1, 2]}, "criteria[0].rule", "type_error"),
        ({"!": {"var": "desil"}}, "criteria[0].rule.!", "type_error"),
        ({"in": [3, {"var": "ppks"}]}, "criteria[0].rule.in[0]", "type_error"),
        ({"in": [{"var": "desil"}, ["a", "b"]]}, "criteria[0].rule.in", "type_error"),
        ({"in": ["a", {"var": "desil"}]}, "criteria[0].rule.in[1]", "in_haystack"),
        ({"in": ["a", [1, "b"]]}, "criteria[0].rule.in[1]", "list_items"),
        ({"==": [{"var": "ppks"}, {"var": "ppks"}]}, "criteria[0].rule.==", "type_error"),
        ({"==": [{"var": "desil"}, None]}, "criteria[0].rule.==", "null_comparison"),
        ({"==": [{"var": "housing.floor"}, "marmer"]}, "criteria[0].rule.==[1]", "unknown_code"),
        ({"in": ["fakir", {"var": "ppks"}]}, "criteria[0].rule.in[0]", "unknown_code"),
        ({"in": [{"var": "housing.wall"}, ["batu"]]}, "criteria[0].rule.in[1][0]", "unknown_code"),
        ({"if": [True, 1, "a"]}, "criteria[0].rule.if", "if_branches"),
        ({"if": [True, True]}, "criteria[0].rule.if", "if_shape"),
        ({"==": [1]}, "criteria[0].rule.==", "arity"),
        ({">": [1, 2, 3]}, "criteria[0].rule.>", "arity"),
        ({"<": [{"/": [1, 0]}, 2]}, "criteria[0].rule.<[0]./[1]", "division_by_zero"),
        ({"var": ["desil", 0]}, "criteria[0].rule.var", "var_default"),
        ({"var": "age"}, "criteria[0].rule.var", "member_field_outside_members"),
        ({"<": [{"age": []}, 6]}, "criteria[0].rule.<[0].age", "member_field_outside_members"),
        (
            {"some": [{"var": "members"}, {"<": [{"var": "desil"}, 3]}]},
            "criteria[0].rule.some[1].<[0].var",
            "household_field_in_member_scope",
        ),
        ({"some": [{"var": "ppks"}, True]}, "criteria[0].rule.some[0]", "members_expected"),
        (
            {"some": [{"var": "members"}, {"some": [{"var": "members"}, True]}]},
            "criteria[0].rule.some[1].some",
            "nested_member_operation",
        ),
        ({"var": "members"}, "criteria[0].rule.var", "members_position"),
        ({"<": [{"param": "nope"}, 1]}, "criteria[0].rule.<[0].param", "unknown_parameter"),
        ({"<": [1, 2], ">": [1, 2]}, "criteria[0].rule", "operation_shape"),
        ({"==": [{"var": "sex"}, [1]]}, "criteria[0].rule.==[1]", "list_not_allowed"),
        ({"<": [{"var": "desil"}, float("inf")]}, "criteria[0].rule.<[1]", "number_range"),
        ({"<": [{"var": "desil"}, {1, 2}]}, "criteria[0].rule.<[1]", "invalid_value"),
    ],
)
def test_type_and_shape_errors(rule: Any, path: str, code: str) -> None:
    assert (path, code) in problems(rule)


def test_parameter_problems_point_at_the_parameter() -> None:
    found = problems(
        {"<=": [{"var": "desil"}, {"param": "max_desil"}]},
        parameters={"max_desil": {"2024-06-01": 4, "2025-01-01": "lima"}},
    )
    assert ("parameters.max_desil", "parameter_type") in found
    assert ("parameters.max_desil", "parameter_gap") in found


def test_duplicate_criterion_ids() -> None:
    data = document(True, True)
    data["criteria"][1]["id"] = "c0"
    with pytest.raises(RuleSetInvalid) as caught:
        compile_rule_set(validate_document(data))
    assert [(p.path, p.code) for p in caught.value.problems] == [
        ("criteria[1].id", "duplicate_criterion")
    ]


def test_messages_are_bilingual() -> None:
    with pytest.raises(RuleSetInvalid) as caught:
        compiled({"==": [{"var": "housing.floor"}, "marmer"]})
    message = caught.value.problems[0].message
    assert "marmer" in message.render("id") and "tidak dikenal" in message.render("id")
    assert "is not known" in message.render("en")
    issue = caught.value.field_issues()[0]
    assert issue.field == "criteria[0].rule.==[1]"


# --- hostile rules ------------------------------------------------------------------------


def nested(depth: int) -> Any:
    rule: Any = True
    for _ in range(depth):
        rule = {"!": [rule]}
    return rule


def test_ten_thousand_deep_json_is_refused_by_the_loader() -> None:
    text = json.dumps(document({"and": [True]}))
    deep = '{"!": [' * 10_000 + "true" + "]}" * 10_000
    text = text.replace('{"and": [true]}', deep)
    with pytest.raises(RuleSetInvalid) as caught:
        load_document(text, "json")
    (problem,) = caught.value.problems
    assert problem.code == "too_deep"
    assert problem.path.startswith("criteria[0].rule.![0].![0].!")


def test_ten_thousand_deep_yaml_is_refused_by_the_loader() -> None:
    deep = "{'!': [" * 10_000 + "true" + "]}" * 10_000
    text = (
        "program: PKH\neffective_from: 2024-01-01\ncriteria:\n"
        f"  - id: c0\n    label: {{id: a, en: b}}\n    rule: {deep}\n"
    )
    with pytest.raises(RuleSetInvalid) as caught:
        load_document(text, "yaml")
    (problem,) = caught.value.problems
    assert problem.code == "too_deep"
    assert problem.path.startswith("criteria[0].rule.![0].!")


def test_deep_rule_built_in_python_is_refused_by_the_compiler() -> None:
    assert ("criteria[0].rule" + ".![0]" * limits.MAX_DEPTH, "too_deep") in problems(nested(10_000))
    compiled(nested(limits.MAX_DEPTH - 1))  # the limit itself is usable


def test_million_item_list_is_refused() -> None:
    found = problems({"in": [{"var": "village_code"}, ["7303082005"] * 1_000_000]})
    assert found == [("criteria[0].rule.in[1]", "list_too_long")]
    assert problems({"or": [True] * 1_000_000}) == [("criteria[0].rule.or", "list_too_long")]
    text = json.dumps(document({"in": [{"var": "village_code"}, ["7303082005"] * 1_000_000]}))
    with pytest.raises(RuleSetInvalid) as caught:
        load_document(text, "json")
    assert caught.value.problems[0].code == "document_too_large"


def test_too_many_nodes() -> None:
    rule = {"and": [{"or": [{"==": [{"var": "desil"}, 1]}] * 200}] * 4}
    assert problems(rule) == [("criteria[0].rule", "too_many_nodes")]


@pytest.mark.parametrize(
    ("rule", "path", "code"),
    [
        ({"var": "__class__"}, "criteria[0].rule.var", "unknown_field"),
        ({"var": "members.0.__dict__"}, "criteria[0].rule.var", "unknown_field"),
        (
            {"==": [{"var": "occupation"}, "x"]},
            "criteria[0].rule.==[0].var",
            "member_field_outside_members",
        ),
        (
            {"==": [{"var": "village_code"}, "__import__('os')"]},
            "criteria[0].rule.==[1]",
            "invalid_string",
        ),
        ({"__import__('os').system('id')": []}, "criteria[0].rule", "unknown_operation"),
        ({"==": [{"var": "village_code"}, "a" * 1000]}, "criteria[0].rule.==[1]", "invalid_string"),
        ("__import__('os')", "criteria[0].rule", "invalid_string"),
    ],
)
def test_hostile_rules_are_rejected(rule: Any, path: str, code: str) -> None:
    assert (path, code) in problems(rule)


def test_yaml_aliases_and_tags_are_refused() -> None:
    laughs = (
        "program: PKH\neffective_from: 2024-01-01\ncriteria:\n"
        "  - id: c0\n    label: {id: a, en: b}\n"
        "    rule: &a {and: [true, true]}\n"
        "  - id: c1\n    label: {id: a, en: b}\n    rule: {and: [*a, *a]}\n"
    )
    with pytest.raises(RuleSetInvalid) as caught:
        load_document(laughs, "yaml")
    assert [(p.path, p.code) for p in caught.value.problems] == [
        ("criteria[1].rule.and[0]", "yaml_alias")
    ]
    with pytest.raises(RuleSetInvalid) as caught:
        load_document("program: !!python/object/apply:os.system [id]\n", "yaml")
    assert caught.value.problems[0].code == "syntax_error"


def test_code_lists_match_the_registry() -> None:
    assert CODE_LISTS["ppks"] == {c.value for c in codes.Ppks}
    pairs = {
        "sex": codes.Sex,
        "relationship": codes.Relationship,
        "marital_status": codes.MaritalStatus,
        "education": codes.Education,
        "disability_type": codes.DisabilityType,
        "severity": codes.Severity,
        "registry_status": codes.RegistryStatus,
        "floor": codes.Floor,
        "wall": codes.Wall,
        "roof": codes.Roof,
        "toilet": codes.Toilet,
        "water": codes.WaterSource,
        "land_ownership": codes.LandOwnership,
    }
    for name, enum in pairs.items():
        assert CODE_LISTS[name] == {c.value for c in enum}, name
