"""A region's households against several programmes at once, column by column: rules
(the batch evaluator), area, exclusions, then quotas by ranking.

Every household gets one letter per programme (`OUTCOMES`): the letters of one household
form its `outcomes` string, stored as one row per household so that a re-run writes only
the households whose string changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from selaras_eligibility.rules.batch import FALSE, TRUE, evaluate_rule_sets
from selaras_eligibility.rules.nodes import CompiledRuleSet

#: Letters of a household's outcome for one programme.
SELECTED = ord("S")  # eligible, and within the quota (or the programme has none)
WAITLISTED = ord("W")  # eligible, but ranked beyond the quota
#: eligible, but the quota is not decided here: the screened region covers only part of the
#: programme's area, and a quota is for the whole area
QUOTA_NOT_APPLIED = ord("Q")
ELIGIBLE = ord("E")  # eligible before quotas are applied (never stored)
NOT_ELIGIBLE = ord("N")  # a criterion is not met
EXCLUDED = ord("X")  # eligible by the rules, but already receives a programme it excludes
UNKNOWN = ord("U")  # missing data decides (or programmes received are unknown)
OUTSIDE = ord("-")  # the household lives outside the programme's area

#: The served outcome of each letter: status, and why when it needs saying.
OUTCOMES: dict[str, tuple[str, str | None]] = {
    "S": ("eligible", None),
    "W": ("eligible", "over_quota"),
    "Q": ("eligible", "quota_not_applied"),
    "N": ("not_eligible", None),
    "X": ("not_eligible", "excluded"),
    "U": ("unknown", None),
}

#: Letters behind each `status` filter of the results.
STATUS_LETTERS: dict[str, str] = {
    "eligible": "SWQ",
    "selected": "S",
    "waitlisted": "W",
    "not_eligible": "NX",
    "excluded": "X",
    "unknown": "U",
}

#: The letters of an eligible household, whatever the quota made of it.
ELIGIBLE_LETTERS = (SELECTED, WAITLISTED, QUOTA_NOT_APPLIED)

Letters = npt.NDArray[np.uint8]


def quota_applies(region: str, areas: Sequence[str]) -> bool:
    """Whether a screening of `region` sees the whole of a programme's area, so that the
    programme's quota can be applied in it: every area prefix lies within the region.
    Screening a regency against a national quota would hand the whole country's places
    to the regency's poorest."""
    return all(area.startswith(region) for area in areas)


@dataclass(frozen=True)
class ProgramSpec:
    """What screening needs of one programme: its compiled rules and catalogue terms."""

    code: str
    compiled: CompiledRuleSet
    areas: tuple[str, ...]
    excludes: tuple[str, ...] = ()
    quota: int | None = None
    #: False when the screened region covers only part of the area (see `quota_applies`).
    quota_applies: bool = True
    #: (field, "asc" | "desc") keys; ties are broken by household id.
    ranking: tuple[tuple[str, str], ...] = ()
    benefit: dict[str, Any] = field(default_factory=dict)


def evaluate(table: pa.Table, programs: Sequence[ProgramSpec], on: date) -> Letters:
    """Letters before quotas (E, N, X, U, -) for every household and programme, shape
    (households, programmes)."""
    n = table.num_rows
    letters = np.full((n, len(programs)), OUTSIDE, dtype=np.uint8)
    if n == 0 or not programs:
        return letters
    results = evaluate_rule_sets([p.compiled for p in programs], table, on)
    villages = table.column("village_code")
    received = table.column("programs_received").combine_chunks()
    received_known = np.asarray(received.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    flat = pc.list_flatten(received)
    parent = pc.list_parent_indices(received).to_numpy()
    for index, (program, result) in enumerate(zip(programs, results, strict=True)):
        status = result.status
        column = np.where(
            status == TRUE, ELIGIBLE, np.where(status == FALSE, NOT_ELIGIBLE, UNKNOWN)
        ).astype(np.uint8)
        if program.excludes:
            # As `explain`: only a household not already ruled out is checked.
            open_ = status != FALSE
            hits = np.asarray(
                pc.is_in(flat, value_set=pa.array(program.excludes, pa.string()))
                .fill_null(False)
                .to_numpy(zero_copy_only=False),
                dtype=bool,
            )
            conflict = np.bincount(parent[hits], minlength=n) > 0
            column = np.where(open_ & ~received_known, UNKNOWN, column).astype(np.uint8)
            column = np.where(open_ & received_known & conflict, EXCLUDED, column).astype(np.uint8)
        inside = _covered(villages, program.areas)
        letters[:, index] = np.where(inside, column, OUTSIDE)
    return letters


def _covered(villages: pa.ChunkedArray, areas: Sequence[str]) -> npt.NDArray[np.bool_]:
    """Households whose village lies in one of the area prefixes ("" is national)."""
    inside = np.zeros(len(villages), dtype=bool)
    for prefix in areas:
        if prefix == "":
            return np.ones(len(villages), dtype=bool)
        match = pc.starts_with(villages, pattern=prefix).fill_null(False)
        inside |= np.asarray(match.to_numpy(zero_copy_only=False), dtype=bool)
    return inside


def apply_quotas(table: pa.Table, letters: Letters, programs: Sequence[ProgramSpec]) -> Letters:
    """Final letters: eligible households become S, or W when ranked beyond the quota, or
    Q when the quota cannot be applied to the screened region."""
    final = letters.copy()
    for index, program in enumerate(programs):
        eligible = np.flatnonzero(letters[:, index] == ELIGIBLE)
        column = final[:, index]
        if program.quota is not None and not program.quota_applies:
            column[eligible] = QUOTA_NOT_APPLIED
            continue
        if program.quota is None or len(eligible) <= program.quota:
            column[eligible] = SELECTED
            continue
        column[eligible] = WAITLISTED
        column[eligible[first(table, eligible, program.ranking, program.quota)]] = SELECTED
    return final


def first(
    table: pa.Table, rows: npt.NDArray[np.int64], keys: Sequence[tuple[str, str]], count: int
) -> Any:
    """Positions in `rows` of the `count` households ranked first: by the keys in turn
    (missing values last), then by household id, so that equal households are ranked the
    same way every run. Only those are found, not the order of all (far cheaper when a
    quota is small)."""
    # Only the ranking columns are taken: taking whole rows would copy every member.
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    sort_keys = []
    for position, (name, order) in enumerate(keys):
        label = f"k{position}"
        columns[label] = _ranking_column(table, name)
        sort_keys.append((label, "ascending" if order == "asc" else "descending"))
    columns["id"] = table.column("id")
    sort_keys.append(("id", "ascending"))
    picked = pa.table(columns).take(pa.array(rows))
    # Selection places missing values last in either order, as the ranking wants.
    return pc.select_k_unstable(picked, k=count, sort_keys=sort_keys).to_numpy()


def _ranking_column(table: pa.Table, name: str) -> pa.ChunkedArray | pa.Array:
    if name == "member_count":
        return pc.list_value_length(table.column("members")).fill_null(0)
    column = name.replace(".", "_")
    if column in table.column_names:
        found = table.column(column)
        if not pa.types.is_list(found.type):
            return found
    # A ranking field the snapshot does not carry ranks nobody ahead: ties go by id.
    return pa.nulls(table.num_rows, pa.int64())


def as_strings(letters: Letters) -> npt.NDArray[np.bytes_]:
    """One bytes string per household: its letters in programme order."""
    width = max(letters.shape[1], 1)
    if letters.shape[1] == 0:
        return np.full(letters.shape[0], b"", dtype="S1")
    return np.ascontiguousarray(letters).view(f"S{width}").ravel()


def counts(letters: Letters, programs: Sequence[ProgramSpec]) -> dict[str, dict[str, int]]:
    """Per programme, how many households have each outcome (outside the area: not counted)."""
    found: dict[str, dict[str, int]] = {}
    for index, program in enumerate(programs):
        tally = np.bincount(letters[:, index], minlength=256)
        by_letter = {chr(code): int(tally[code]) for code in (*ELIGIBLE_LETTERS, *_OTHERS)}
        found[program.code] = {
            "eligible": by_letter["S"] + by_letter["W"] + by_letter["Q"],
            "selected": by_letter["S"],
            "waitlisted": by_letter["W"],
            "quota_not_applied": by_letter["Q"],
            "not_eligible": by_letter["N"] + by_letter["X"],
            "excluded": by_letter["X"],
            "unknown": by_letter["U"],
        }
    return found


_OTHERS = (NOT_ELIGIBLE, EXCLUDED, UNKNOWN)
