"""Rule documents and households shared by the rule-language tests."""

from __future__ import annotations

from typing import Any

from selaras_eligibility.rules.compiler import compile_rule_set
from selaras_eligibility.rules.document import validate_document
from selaras_eligibility.rules.nodes import CompiledRuleSet

LABEL = {"id": "Kriteria", "en": "Criterion"}


def document(*rules: Any, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """A rule-set document with one criterion per rule."""
    return {
        "program": "PKH",
        "effective_from": "2024-01-01",
        "parameters": parameters or {},
        "criteria": [{"id": f"c{i}", "label": LABEL, "rule": rule} for i, rule in enumerate(rules)],
    }


def compiled(*rules: Any, parameters: dict[str, Any] | None = None) -> CompiledRuleSet:
    """Compile rules (one criterion each)."""
    return compile_rule_set(validate_document(document(*rules, parameters=parameters)))


def member(**fields: Any) -> dict[str, Any]:
    """A member document with ordinary values, overridden by `fields`."""
    base: dict[str, Any] = {
        "sex": "female",
        "birth_date": "1985-07-01",
        "relationship": "kepala_keluarga",
        "marital_status": "kawin",
        "education": "sd",
        "in_school": False,
        "occupation": "petani",
        "disability": None,
        "chronic_illness": None,
        "pregnant": False,
        "ppks": [],
    }
    return base | fields


def household(*members: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A household document with ordinary values, overridden by `fields`."""
    base: dict[str, Any] = {
        "desil": 3,
        "monthly_income": 1_200_000,
        "village_code": "7303082005",
        "registry_status": "national",
        "housing": {
            "floor": "tanah",
            "wall": "bambu",
            "roof": "seng",
            "toilet": "bersama",
            "water": "sumur_terlindung",
            "electricity_va": 450,
            "land_ownership": "milik_sendiri",
        },
        "programs_received": ["BPNT"],
        "ppks": ["fakir_miskin"],
        "members": list(members) or [member()],
    }
    return base | fields


#: A realistic set: PKH-like, school aid, elderly care, housing and income criteria.
REALISTIC = {
    "program": "PKH",
    "effective_from": "2024-01-01",
    "parameters": {
        "max_desil": {"2024-01-01": 4, "2026-01-01": 5},
        "elderly_age": {"2024-01-01": 70},
        "income_per_person": {"2024-01-01": 600000},
        "poor_floors": {"2024-01-01": ["tanah", "bambu"]},
    },
    "criteria": [
        {
            "id": "pkh_desil",
            "label": {"id": "Desil rendah", "en": "Low decile"},
            "rule": {"<=": [{"var": "desil"}, {"param": "max_desil"}]},
        },
        {
            "id": "pkh_component",
            "label": {"id": "Komponen PKH", "en": "PKH component"},
            "rule": {
                "some": [
                    {"var": "members"},
                    {
                        "or": [
                            {"<": [{"age": []}, 6]},
                            {"==": [{"var": "pregnant"}, True]},
                            {">=": [{"var": "age"}, {"param": "elderly_age"}]},
                            {"!=": [{"var": "disability.type"}, None]},
                        ]
                    },
                ]
            },
        },
        {
            "id": "school_aid",
            "label": {"id": "Anak sekolah 6-21", "en": "Pupil aged 6-21"},
            "rule": {
                ">=": [
                    {
                        "count_members": [
                            {"and": [{"<=": [6, {"var": "age"}, 21]}, {"var": "in_school"}]}
                        ]
                    },
                    1,
                ]
            },
        },
        {
            "id": "poor_house",
            "label": {"id": "Rumah tidak layak", "en": "Poor housing"},
            "rule": {
                "or": [
                    {"in": [{"var": "housing.floor"}, {"param": "poor_floors"}]},
                    {"in": [{"var": "housing.wall"}, ["bambu", "kayu"]]},
                ]
            },
        },
        {
            "id": "income",
            "label": {"id": "Pendapatan per orang", "en": "Income per person"},
            "rule": {
                "<": [
                    {"/": [{"var": "monthly_income"}, {"var": "member_count"}]},
                    {"param": "income_per_person"},
                ]
            },
        },
        {
            "id": "workers",
            "label": {"id": "Usia kerja", "en": "Working age"},
            "rule": {
                "if": [
                    {"in": ["fakir_miskin", {"var": "ppks"}]},
                    True,
                    {
                        "<=": [
                            {"sum_members": [{"min": [{"age": []}, 1]}, {">=": [{"age": []}, 18]}]},
                            {"max": [1, {"-": [{"var": "member_count"}, 2]}]},
                        ]
                    },
                ]
            },
        },
        {
            "id": "mixed",
            "label": {"id": "Lainnya", "en": "Other"},
            "rule": {
                "and": [
                    {
                        "none": [
                            {"var": "members"},
                            {"==": [{"var": "relationship"}, "famili_lain"]},
                        ]
                    },
                    {
                        "!": [
                            {
                                "all": [
                                    {"var": "members"},
                                    {"in": ["penyandang_disabilitas", {"var": "ppks"}]},
                                ]
                            }
                        ]
                    },
                    {"!": {"in": ["PKH", {"var": "programs_received"}]}},
                    {">": [{"*": [{"+": [{"var": "desil"}, 1]}, 2]}, 2]},
                ]
            },
        },
    ],
}
