"""The explaining evaluator: every operation, three-valued logic, dated parameters, loading."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
import yaml

from selaras_eligibility.rules.compiler import compile_rule_set
from selaras_eligibility.rules.document import content_hash, load_document, validate_document
from selaras_eligibility.rules.errors import RuleSetInvalid, RuleSetNotInForce
from selaras_eligibility.rules.explain import evaluate
from tests.eligibility.rulesets import REALISTIC, compiled, household, member

ON = date(2026, 3, 1)


def status(rule: Any, data: dict[str, Any] | None = None, **parameters: Any) -> str:
    """The status of one rule on a household (the default one without `data`)."""
    rule_set = compiled(rule, parameters=parameters or None)
    return evaluate(rule_set, data or household(), ON).criteria[0].status


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"==": [{"var": "desil"}, 3]}, "true"),
        ({"!=": [{"var": "desil"}, 3]}, "false"),
        ({"<": [{"var": "desil"}, 3]}, "false"),
        ({"<=": [{"var": "desil"}, 3]}, "true"),
        ({">": [{"var": "monthly_income"}, 1_000_000]}, "true"),
        ({">=": [{"var": "housing.electricity_va"}, 900]}, "false"),
        ({"<": [1, {"var": "desil"}, 4]}, "true"),
        ({"<=": [4, {"var": "desil"}, 10]}, "false"),
        ({"in": [{"var": "housing.floor"}, ["tanah", "bambu"]]}, "true"),
        ({"in": [{"var": "desil"}, [1, 2]]}, "false"),
        ({"in": ["fakir_miskin", {"var": "ppks"}]}, "true"),
        ({"in": ["PKH", {"var": "programs_received"}]}, "false"),
        ({"and": [True, {"==": [{"var": "registry_status"}, "national"]}]}, "true"),
        ({"or": [False, {"==": [{"var": "housing.roof"}, "beton"]}]}, "false"),
        ({"!": [{"==": [{"var": "village_code"}, "7303082005"]}]}, "false"),
        ({"==": [{"if": [{"<": [{"var": "desil"}, 3]}, "a", "b"]}, "b"]}, "true"),
        ({"==": [{"+": [{"var": "desil"}, 2, 1]}, 6]}, "true"),
        ({"==": [{"-": [{"var": "desil"}]}, -3]}, "true"),
        ({"==": [{"-": [10, {"var": "desil"}]}, 7]}, "true"),
        ({"==": [{"*": [{"var": "desil"}, 2]}, 6]}, "true"),
        ({"==": [{"/": [{"var": "monthly_income"}, 4]}, 300_000]}, "true"),
        ({"==": [{"min": [{"var": "desil"}, 2]}, 2]}, "true"),
        ({"==": [{"max": [{"var": "desil"}, 2]}, 3]}, "true"),
        ({"==": [{"var": "member_count"}, 1]}, "true"),
    ],
)
def test_every_operation(rule: Any, expected: str) -> None:
    assert status(rule) == expected


FAMILY = household(
    member(birth_date="1980-03-01"),  # 46 on ON (birthday that day)
    member(birth_date="1980-03-02", sex="male", relationship="suami"),  # 45
    member(birth_date="2021-03-02", relationship="anak", education=None, in_school=None),  # 4
    member(birth_date="2012-01-01", relationship="anak", in_school=True),  # 14
    member(
        birth_date="1950-01-01",
        relationship="orang_tua",
        disability={"type": "fisik", "severity": "berat"},
        ppks=["penyandang_disabilitas"],
    ),  # 76
)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"some": [{"var": "members"}, {"<": [{"age": []}, 5]}]}, "true"),
        ({"some": [{"var": "members"}, {"==": [{"var": "pregnant"}, True]}]}, "false"),
        ({"all": [{"var": "members"}, {"<": [{"var": "age"}, 80]}]}, "true"),
        ({"none": [{"var": "members"}, {"==": [{"var": "age"}, 45]}]}, "false"),
        ({"==": [{"count_members": [{">=": [{"age": []}, 46]}]}, 2]}, "true"),
        ({"==": [{"count_members": []}, 5]}, "true"),
        ({"==": [{"sum_members": [{"age": []}]}, 46 + 45 + 4 + 14 + 76]}, "true"),
        (
            {
                "==": [
                    {"sum_members": [{"var": "age"}, {"!=": [{"var": "disability.type"}, None]}]},
                    76,
                ]
            },
            "true",
        ),
        (
            {"some": [{"var": "members"}, {"in": ["penyandang_disabilitas", {"var": "ppks"}]}]},
            "true",
        ),
        (
            {
                "some": [
                    {"var": "members"},
                    {"and": [{"var": "in_school"}, {"<=": [6, {"var": "age"}, 21]}]},
                ]
            },
            "true",
        ),
        ({"some": [{"var": "members"}, {"==": [{"var": "disability.severity"}, "berat"]}]}, "true"),
    ],
)
def test_member_operations_and_age(rule: Any, expected: str) -> None:
    assert status(rule, FAMILY) == expected


def test_age_turns_on_the_birthday() -> None:
    rule = {"some": [{"var": "members"}, {">=": [{"age": []}, 46]}]}
    rule_set = compiled(rule)
    one = household(member(birth_date="1980-03-01"))
    assert evaluate(rule_set, one, date(2026, 3, 1)).criteria[0].status == "true"
    assert evaluate(rule_set, one, date(2026, 2, 28)).criteria[0].status == "false"


def test_missing_household_field_gives_unknown_and_names_it() -> None:
    rule_set = compiled(
        {"<=": [{"var": "desil"}, 4]},
        {"and": [{"<=": [{"var": "desil"}, 4]}, {"==": [{"var": "registry_status"}, "local"]}]},
        {"or": [{"<=": [{"var": "desil"}, 4]}, {"<": [{"var": "monthly_income"}, 2_000_000]}]},
        {"==": [{"var": "housing.floor"}, "tanah"]},
    )
    data = household(desil=None)
    del data["housing"]
    result = evaluate(rule_set, data, ON)
    assert [c.status for c in result.criteria] == ["unknown", "false", "true", "unknown"]
    assert result.criteria[0].missing == ["desil"]
    assert result.criteria[1].missing == []  # false whatever the decile
    assert result.criteria[3].missing == ["housing.floor"]
    assert result.status == "not_eligible"
    assert evaluate(compiled({"<=": [{"var": "desil"}, 4]}), data, ON).status == "unknown"


def test_missing_member_data_is_unknown_only_where_it_matters() -> None:
    in_school = {"and": [{"var": "in_school"}, {"<=": [6, {"age": []}, 17]}]}
    rule = {"some": [{"var": "members"}, in_school]}
    toddler = member(birth_date="2023-01-01", in_school=None)
    adult_unknown = member(birth_date="2000-01-01", in_school=None)
    pupil = member(birth_date="2014-01-01", in_school=True)
    masked = member(birth_date=None, in_school=True)
    rule_set = compiled(rule)
    assert evaluate(rule_set, household(toddler, adult_unknown), ON).criteria[0].status == "false"
    result = evaluate(rule_set, household(member(), masked), ON).criteria[0]
    assert (result.status, result.missing) == ("unknown", ["members[1].birth_date"])
    assert evaluate(rule_set, household(masked, pupil), ON).criteria[0].status == "true"
    count = compiled({">=": [{"count_members": [{"var": "in_school"}]}, 1]})
    result = evaluate(count, household(member(), adult_unknown), ON).criteria[0]
    assert (result.status, result.missing) == ("unknown", ["members[1].in_school"])


def test_null_that_means_none_is_a_value() -> None:
    rule = {"none": [{"var": "members"}, {"in": [{"var": "disability.type"}, ["fisik"]]}]}
    assert status(rule, household(member(disability=None))) == "true"
    rule = {"some": [{"var": "members"}, {"==": [{"var": "chronic_illness"}, None]}]}
    assert status(rule, household(member())) == "true"


def test_wrong_types_in_the_document_count_as_missing() -> None:
    result = evaluate(compiled({"<=": [{"var": "desil"}, 4]}), household(desil="3"), ON)
    assert (result.status, result.criteria[0].missing) == ("unknown", ["desil"])


def test_dated_parameters_change_on_their_date() -> None:
    rule_set = compile_rule_set(validate_document(REALISTIC))
    data = household(desil=5)
    before = evaluate(rule_set, data, date(2025, 12, 31)).criteria[0]
    after = evaluate(rule_set, data, date(2026, 1, 1)).criteria[0]
    assert before.status == "false" and after.status == "true"
    assert before.parameters["max_desil"].model_dump() == {"value": 4, "since": date(2024, 1, 1)}
    assert after.parameters["max_desil"].model_dump() == {"value": 5, "since": date(2026, 1, 1)}


def test_explanation_contents() -> None:
    rule_set = compile_rule_set(validate_document(REALISTIC))
    result = evaluate(rule_set, FAMILY, ON)
    by_id = {c.id: c for c in result.criteria}
    desil = by_id["pkh_desil"]
    assert desil.label.en == "Low decile" and desil.label.id == "Desil rendah"
    assert desil.inputs == {"desil": 3}
    component = by_id["pkh_component"]
    assert component.status == "true"
    assert component.inputs["members[2].age"] == 4
    assert component.parameters["elderly_age"].value == 70
    assert by_id["poor_house"].parameters["poor_floors"].value == ["tanah", "bambu"]
    assert by_id["income"].inputs == {"monthly_income": 1_200_000, "member_count": 5}
    assert result.rule_set_hash == rule_set.content_hash
    assert result.model_dump(mode="json")["evaluated_on"] == "2026-03-01"


def test_overall_status() -> None:
    rule_set = compiled({"<=": [{"var": "desil"}, 4]}, {"==": [{"var": "member_count"}, 1]})
    assert evaluate(rule_set, household(), ON).status == "eligible"
    assert evaluate(rule_set, household(desil=None), ON).status == "unknown"
    assert evaluate(rule_set, household(desil=9), ON).status == "not_eligible"


def test_not_in_force() -> None:
    rule_set = compiled(True)
    with pytest.raises(RuleSetNotInForce) as caught:
        evaluate(rule_set, household(), date(2023, 12, 31))
    assert "2023-12-31" in caught.value.message.render("id")


def test_yaml_and_json_load_to_the_same_document_and_hash() -> None:
    from_json = load_document(json.dumps(REALISTIC), "json")
    from_yaml = load_document(yaml.safe_dump(REALISTIC, sort_keys=False), "yaml")
    assert from_json == from_yaml
    reordered = dict(reversed(list(REALISTIC.items())))
    reordered["parameters"] = dict(reversed(list(REALISTIC["parameters"].items())))  # type: ignore[call-overload]
    assert content_hash(load_document(json.dumps(reordered), "json")) == content_hash(from_json)
    changed = json.loads(json.dumps(REALISTIC))
    changed["parameters"]["max_desil"]["2026-01-01"] = 6
    assert content_hash(validate_document(changed)) != content_hash(from_json)


def test_document_shape_errors_name_the_field() -> None:
    bad = json.loads(json.dumps(REALISTIC))
    bad["criteria"][2]["label"] = {"id": "x"}
    bad["owner"] = "me"
    bad["effective_to"] = "2023-01-01"
    with pytest.raises(RuleSetInvalid) as caught:
        load_document(json.dumps(bad), "json")
    paths = {(p.path, p.code) for p in caught.value.problems}
    assert ("criteria[2].label.en", "missing") in paths
    assert ("owner", "extra_forbidden") in paths
    with pytest.raises(RuleSetInvalid) as caught:
        load_document("{not json", "json")
    assert caught.value.problems[0].code == "syntax_error"
    with pytest.raises(RuleSetInvalid) as caught:
        load_document(json.dumps(REALISTIC | {"effective_to": "2023-01-01"}), "json")
    assert caught.value.problems[0].code == "value_error"
