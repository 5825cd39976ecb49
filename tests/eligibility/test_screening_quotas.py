"""Quotas: the households selected are the first ones of the full ranking (keys in turn,
missing values last in either order, then household id), whatever the data."""

from __future__ import annotations

import functools
import uuid
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from selaras_eligibility.schemas.screenings import RuleSetUsed
from selaras_eligibility.screening.outcomes import (
    ELIGIBLE,
    NOT_ELIGIBLE,
    QUOTA_NOT_APPLIED,
    SELECTED,
    WAITLISTED,
    ProgramSpec,
    apply_quotas,
    quota_applies,
)
from tests.eligibility.rulesets import compiled

FIELDS = ("desil", "monthly_income", "member_count")
#: Quotas are applied to letters already evaluated: the rules themselves play no part.
RULES = compiled({"<=": [{"var": "desil"}, 4]})
_MEMBER = pa.struct([("sex", pa.string())])


def table(households: list[dict[str, Any]]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array([h["id"] for h in households], pa.string()),
            "desil": pa.array([h["desil"] for h in households], pa.int32()),
            "monthly_income": pa.array([h["monthly_income"] for h in households], pa.int64()),
            "members": pa.array(
                [[{"sex": "female"}] * h["members"] for h in households], pa.list_(_MEMBER)
            ),
        }
    )


def ranked(households: list[dict[str, Any]], keys: list[tuple[str, str]]) -> list[str]:
    """The ids in ranking order, sorted the plain way."""

    def value(household: dict[str, Any], field: str) -> Any:
        return household["members"] if field == "member_count" else household[field]

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for field, order in keys:
            x, y = value(a, field), value(b, field)
            if x == y:
                continue
            if x is None or y is None:
                return 1 if x is None else -1  # missing last, in either order
            return (x > y) - (x < y) if order == "asc" else (y > x) - (y < x)
        return (a["id"] > b["id"]) - (a["id"] < b["id"])

    return [h["id"] for h in sorted(households, key=functools.cmp_to_key(compare))]


households_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.uuids().map(str),
            "desil": st.none() | st.integers(1, 4),
            "monthly_income": st.none() | st.integers(0, 3).map(lambda n: n * 500_000),
            "members": st.integers(0, 3),
            "eligible": st.booleans(),
        }
    ),
    max_size=40,
    unique_by=lambda h: h["id"],
)
keys_strategy = st.lists(
    st.tuples(st.sampled_from(FIELDS), st.sampled_from(("asc", "desc"))),
    max_size=3,
    unique_by=lambda k: k[0],
)


@settings(max_examples=300, deadline=None)
@given(households=households_strategy, keys=keys_strategy, quota=st.integers(0, 12))
def test_the_first_of_the_ranking_are_selected(
    households: list[dict[str, Any]], keys: list[tuple[str, str]], quota: int
) -> None:
    program = ProgramSpec(code="P", compiled=RULES, areas=("",), quota=quota, ranking=tuple(keys))
    letters = np.array(
        [[ELIGIBLE if h["eligible"] else NOT_ELIGIBLE] for h in households], dtype=np.uint8
    ).reshape(len(households), 1)
    final = apply_quotas(table(households), letters, [program])[:, 0]
    eligible = [h for h in households if h["eligible"]]
    first = set(ranked(eligible, keys)[:quota])
    for household, letter in zip(households, final, strict=True):
        if not household["eligible"]:
            assert letter == NOT_ELIGIBLE
        else:
            assert letter == (SELECTED if household["id"] in first else WAITLISTED)


def test_no_quota_selects_every_eligible_household() -> None:
    households = [
        {"id": str(uuid.uuid4()), "desil": 1, "monthly_income": None, "members": 1}
        for _ in range(3)
    ]
    program = ProgramSpec(code="P", compiled=RULES, areas=("",))
    letters = np.array([[ELIGIBLE], [NOT_ELIGIBLE], [ELIGIBLE]], dtype=np.uint8)
    final = apply_quotas(table(households), letters, [program])
    assert bytes(final[:, 0]) == bytes([SELECTED, NOT_ELIGIBLE, SELECTED])


def test_a_quota_applies_only_to_a_region_holding_the_whole_area() -> None:
    assert quota_applies("7303", ["7303"])
    assert quota_applies("7303", ["7303012004", "7303082005"])
    assert quota_applies("", [""])
    assert quota_applies("", ["73", "7310"])
    assert not quota_applies("7303", [""])  # a national quota, screened in one regency
    assert not quota_applies("7303012004", ["7303"])
    assert not quota_applies("7303", ["7303", "7310"])


def test_a_quota_not_applicable_here_marks_every_eligible_household() -> None:
    households = [
        {"id": str(uuid.uuid4()), "desil": d, "monthly_income": None, "members": 1}
        for d in (1, 2, 3)
    ]
    letters = np.array([[ELIGIBLE] * 2, [NOT_ELIGIBLE] * 2, [ELIGIBLE] * 2], dtype=np.uint8)
    ranking = (("desil", "asc"),)
    applied = ProgramSpec(code="A", compiled=RULES, areas=("73",), quota=1, ranking=ranking)
    partial = ProgramSpec(
        code="P", compiled=RULES, areas=("",), quota=1, ranking=ranking, quota_applies=False
    )
    final = apply_quotas(table(households), letters, [applied, partial])
    assert bytes(final[:, 0]) == bytes([SELECTED, NOT_ELIGIBLE, WAITLISTED])
    assert bytes(final[:, 1]) == bytes([QUOTA_NOT_APPLIED, NOT_ELIGIBLE, QUOTA_NOT_APPLIED])


def test_a_job_recorded_before_the_flag_applied_its_quota() -> None:
    entry = {
        "program": "P",
        "version": 1,
        "content_sha256": "0" * 64,
        "effective_from": "2025-01-01",
        "quota": 3,
        "ranking": [],
        "excludes": [],
        "areas": [""],
    }
    assert RuleSetUsed.model_validate(entry).quota_applied is True
    assert RuleSetUsed.model_validate({**entry, "quota": None}).quota_applied is None
    assert RuleSetUsed.model_validate({**entry, "quota_applied": False}).quota_applied is False
