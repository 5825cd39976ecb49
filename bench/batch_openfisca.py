"""Benchmark: the columnar batch evaluator against OpenFisca on the same rules and data.

1M synthetic households (BENCH_HOUSEHOLDS or --households; from the registry's generator,
turned into the registry's Arrow snapshot table in memory by the snapshot export's own
`batch_from_rows`, no database) x 50 programmes x 5 criteria. The programmes are generated
from six realistic templates (conditional cash transfer, house renovation, rehabilitation,
school aid, village cash transfer, health cover) with varied parameters, written as our rule
documents and compiled by our compiler. Then, in the same run:

  (a) ours: `evaluate_rule_sets` over the snapshot table (decoding included);
  (b) OpenFisca (`openfisca-core`, the `bench` dependency group): the compiled node trees
      translated into an OpenFisca tax-benefit system (bench/openfisca_model.py: household
      and person entities, input variables, dated parameters, one formula a criterion),
      timed as loading the inputs from the same table and calculating every criterion.

The generator's data has missing values (no decile outside the national registry, no income
for some, no schooling for small children); OpenFisca is two-valued, so missing data is
encoded as `<field>__known` inputs and the formulas carry it through three-valued logic (see
bench/openfisca_model.py). Every household's status for every criterion (true, false or
unknown) must be identical; the script fails otherwise. It prints both times, households/s,
the ratio (target: ours at least 20x faster) and peak memory. With --openfisca-chunk N,
OpenFisca runs over N households at a time (the default holds them all at once).

    .tools/bin/uv run --group bench python bench/batch_openfisca.py [--households 1000000]
"""

from __future__ import annotations

import argparse
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

import numpy as np
import pyarrow as pa
from common import peak_rss_mib
from openfisca_model import build_system, criterion_name, simulation, vocabulary

from selaras_eligibility.rules.batch import evaluate_rule_sets
from selaras_eligibility.rules.batch.run import Run
from selaras_eligibility.rules.batch.snapshot import Snapshot
from selaras_eligibility.rules.compiler import compile_rule_set
from selaras_eligibility.rules.document import validate_document
from selaras_eligibility.rules.nodes import CompiledRuleSet
from selaras_registry.demo import generate_rows
from selaras_registry.service.changes import batch_from_rows

ON = date(2026, 3, 1)
CHUNK = 50_000
LABEL = {"id": "Kriteria", "en": "Criterion"}
MEMBERS: dict[str, Any] = {"var": "members"}
AGE: dict[str, Any] = {"age": []}
DESIL: dict[str, Any] = {"var": "desil"}
INCOME: dict[str, Any] = {"var": "monthly_income"}
RECEIVED: dict[str, Any] = {"var": "programs_received"}
PPKS: dict[str, Any] = {"var": "ppks"}


# --- data -------------------------------------------------------------------------------------


def _rows(documents: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Household and member rows (as the registry's tables hold them) of generated documents."""
    now = datetime.now(UTC)
    households, members = [], []
    for doc in documents:
        households.append(
            {**doc, "verified_on": date.fromisoformat(doc["verified_on"]), "version": 1}
            | {"updated_at": now}
        )
        for position, person in enumerate(doc["members"]):
            disability = person["disability"] or {}
            members.append(
                {
                    **person,
                    "id": uuid.UUID(int=len(members) + 1),
                    "household_id": doc["id"],
                    "birth_date": date.fromisoformat(person["birth_date"]),
                    "disability_type": disability.get("type"),
                    "disability_severity": disability.get("severity"),
                    "position": position,
                }
            )
    return households, members


def snapshot_table(count: int, seed: int) -> pa.Table:
    """`count` generated households as the registry's snapshot table."""
    rows: Iterator[dict[str, Any]] = generate_rows(count, seed=seed)
    batches = []
    while chunk := list(islice(rows, CHUNK)):
        households, members = _rows(chunk)
        batches.append(batch_from_rows(households, members, masked=False))  # type: ignore[arg-type]
    return pa.Table.from_batches(batches)


# --- rules ------------------------------------------------------------------------------------


def _le(left: Any, right: Any) -> dict[str, Any]:
    return {"<=": [left, right]}


def _param(name: str) -> dict[str, Any]:
    return {"param": name}


def _received(code: str) -> dict[str, Any]:
    return {"in": [code, RECEIVED]}


def _cash_transfer(r: random.Random, villages: list[str]) -> tuple[dict[str, Any], list[Any]]:
    parameters = {
        "max_desil": {"2024-01-01": r.randint(2, 4), "2026-01-01": r.randint(3, 5)},
        "max_income": {"2024-01-01": r.choice([1_500_000, 2_000_000, 2_500_000])},
        "elderly_age": {"2024-01-01": r.choice([60, 65, 70])},
    }
    component = {
        "or": [
            {"<": [AGE, 6]},
            {"and": [{"var": "in_school"}, {"<=": [AGE, 18]}]},
            {"var": "pregnant"},
            {">=": [AGE, _param("elderly_age")]},
            {"==": [{"var": "disability.severity"}, "berat"]},
        ]
    }
    return parameters, [
        ("poor", _le(DESIL, _param("max_desil"))),
        ("family_component", {"some": [MEMBERS, component]}),
        ("income", _le(INCOME, _param("max_income"))),
        ("registered", {"in": [{"var": "registry_status"}, ["national", "proposed"]]}),
        ("not_yet_enrolled", {"!": _received(r.choice(["PKH", "BPNT", "PBI_JKN"]))}),
    ]


def _house_renovation(r: random.Random, villages: list[str]) -> tuple[dict[str, Any], list[Any]]:
    parameters = {
        "max_desil": {"2024-01-01": r.randint(1, 3), "2025-07-01": r.randint(2, 4)},
        "max_per_capita": {"2024-01-01": r.choice([400_000, 600_000, 800_000])},
    }
    unfit = {
        "or": [
            {"in": [{"var": "housing.floor"}, r.sample(["tanah", "bambu", "kayu"], 2)]},
            {"in": [{"var": "housing.wall"}, ["bambu", "kayu"]]},
            {"==": [{"var": "housing.roof"}, "ijuk_rumbia"]},
        ]
    }
    per_capita = {"/": [INCOME, {"var": "member_count"}]}
    return parameters, [
        ("poor", _le(DESIL, _param("max_desil"))),
        ("unfit_house", unfit),
        ("owns_land", {"==": [{"var": "housing.land_ownership"}, "milik_sendiri"]}),
        ("low_power", _le({"var": "housing.electricity_va"}, r.choice([450, 900, 1300]))),
        ("per_capita_income", _le(per_capita, _param("max_per_capita"))),
    ]


def _rehabilitation(r: random.Random, villages: list[str]) -> tuple[dict[str, Any], list[Any]]:
    parameters = {"max_desil": {"2024-01-01": r.randint(3, 6)}}
    vulnerable = {
        "or": [
            {"!=": [{"var": "disability.type"}, None]},
            {"in": ["lanjut_usia_terlantar", PPKS]},
            {"in": ["penyandang_disabilitas", PPKS]},
        ]
    }
    working_age = {"and": [{">=": [AGE, 18]}, {"<": [AGE, 60]}]}
    return parameters, [
        ("vulnerable_member", {"some": [MEMBERS, vulnerable]}),
        ("poor", {"or": [{"in": ["fakir_miskin", PPKS]}, _le(DESIL, _param("max_desil"))]}),
        ("elderly", {">=": [{"count_members": [{">=": [AGE, 60]}]}, r.choice([0, 1])]}),
        ("few_carers", _le({"count_members": [working_age]}, r.choice([1, 2, 3]))),
        ("not_in_care", {"!": _received("ATENSI")}),
    ]


def _school_aid(r: random.Random, villages: list[str]) -> tuple[dict[str, Any], list[Any]]:
    parameters = {
        "max_desil": {"2024-01-01": r.randint(2, 5)},
        "max_per_capita": {"2024-01-01": r.choice([500_000, 750_000, 1_000_000])},
    }
    pupil = {"and": [{">=": [AGE, 5]}, {"<": [AGE, 19]}, {"var": "in_school"}]}
    per_capita = {"/": [INCOME, {"max": [{"count_members": []}, 1]}]}
    return parameters, [
        ("pupil_aged", {"some": [MEMBERS, {"and": [{"<=": [6, AGE, 21]}, {"var": "in_school"}]}]}),
        ("poor", _le(DESIL, _param("max_desil"))),
        ("per_capita_income", _le(per_capita, _param("max_per_capita"))),
        ("pupils", {">=": [{"count_members": [pupil]}, r.choice([1, 2])]}),
        ("no_pip_yet", {"!": _received("PIP")}),
    ]


def _village_cash(r: random.Random, villages: list[str]) -> tuple[dict[str, Any], list[Any]]:
    parameters = {
        "max_desil": {"2024-01-01": r.randint(2, 4)},
        "max_income": {"2024-01-01": r.choice([1_000_000, 1_500_000])},
        "max_income_large": {"2024-01-01": r.choice([2_000_000, 2_500_000])},
    }
    formal_job = {
        "and": [
            {">=": [AGE, 18]},
            {"in": [{"var": "occupation"}, ["PNS", "guru", "karyawan swasta"]]},
        ]
    }
    income = {
        "if": [
            {">=": [{"count_members": []}, 5]},
            _le(INCOME, _param("max_income_large")),
            _le(INCOME, _param("max_income")),
        ]
    }
    return parameters, [
        ("village", {"in": [{"var": "village_code"}, r.sample(villages, min(40, len(villages)))]}),
        ("no_formal_job", {"none": [MEMBERS, formal_job]}),
        ("no_other_aid", {"!": {"or": [_received("PKH"), _received("BPNT")]}}),
        ("poor", {"or": [_le(DESIL, _param("max_desil")), {"in": ["fakir_miskin", PPKS]}]}),
        ("income", income),
    ]


def _health_cover(r: random.Random, villages: list[str]) -> tuple[dict[str, Any], list[Any]]:
    parameters = {
        "max_desil": {"2024-01-01": r.randint(4, 6), "2026-01-01": r.randint(3, 5)},
        "max_income": {"2024-01-01": r.choice([1_000_000, 2_000_000])},
    }
    dependants = {"sum_members": [{"if": [{">=": [AGE, 60]}, 1, {"<": [AGE, 18]}, 1, 0]}]}
    allowance = {"-": [INCOME, {"*": [{"count_members": []}, 150_000]}]}
    return parameters, [
        ("chronic_illness", {"some": [MEMBERS, {"!=": [{"var": "chronic_illness"}, None]}]}),
        ("poor", _le(DESIL, _param("max_desil"))),
        ("income_after_allowance", _le(allowance, _param("max_income"))),
        ("dependants", {">=": [dependants, r.choice([1, 2])]}),
        ("family_members", {"all": [MEMBERS, {"!=": [{"var": "relationship"}, "lainnya"]}]}),
    ]


TEMPLATES = (
    _cash_transfer,
    _house_renovation,
    _rehabilitation,
    _school_aid,
    _village_cash,
    _health_cover,
)


def rule_sets(count: int, villages: list[str], seed: int) -> list[CompiledRuleSet]:
    """`count` programmes from the templates in turn, each with its own parameters."""
    compiled = []
    for index in range(count):
        r = random.Random(seed * 1000 + index)
        parameters, criteria = TEMPLATES[index % len(TEMPLATES)](r, villages)
        document = {
            "program": f"P{index + 1:02d}",
            "effective_from": "2024-01-01",
            "parameters": parameters,
            "criteria": [{"id": cid, "label": LABEL, "rule": rule} for cid, rule in criteria],
        }
        compiled.append(compile_rule_set(validate_document(document)))
    return compiled


# --- run --------------------------------------------------------------------------------------


def ours(compiled: list[CompiledRuleSet], table: pa.Table) -> tuple[float, dict[str, np.ndarray]]:
    """Seconds, and every criterion's statuses, of our batch evaluator."""
    started = time.perf_counter()
    results = evaluate_rule_sets(compiled, table, ON)
    seconds = time.perf_counter() - started
    return seconds, {
        criterion_name(result.program, column.id): column.status
        for result in results
        for column in result.criteria
    }


def openfisca(
    compiled: list[CompiledRuleSet], table: pa.Table, chunk: int
) -> tuple[float, float, dict[str, np.ndarray]]:
    """Seconds loading inputs and calculating, and every criterion's statuses, of OpenFisca."""
    system, translator, _ = build_system(compiled, vocabulary(table, compiled), ON)
    names = [criterion_name(rs.program, c.id) for rs in compiled for c in rs.criteria]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    loading = calculating = 0.0
    size = chunk or table.num_rows
    for offset in range(0, table.num_rows, size):
        part = table.slice(offset, size)
        started = time.perf_counter()
        run = simulation(system, translator, part, ON)
        loading += time.perf_counter() - started
        started = time.perf_counter()
        for name in names:
            parts[name].append(np.asarray(run.calculate(name, ON.isoformat())).astype(np.int8))
        calculating += time.perf_counter() - started
        del run
    return loading, calculating, {name: np.concatenate(arrays) for name, arrays in parts.items()}


def main() -> None:
    """Generate, evaluate both ways, compare every answer, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--households", type=int, default=int(os.environ.get("BENCH_HOUSEHOLDS", 1_000_000))
    )
    parser.add_argument("--programmes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument(
        "--openfisca-chunk", type=int, default=0, help="households per OpenFisca run (0: all)"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    table = snapshot_table(args.households, args.seed)
    members = len(table.column("members").combine_chunks().flatten())
    print(f"households            {table.num_rows:>12,}  ({members:,} members)")
    print(f"snapshot table built  {time.perf_counter() - started:>12.1f} s (not timed below)")
    villages = sorted(v for v in set(table.column("village_code").to_pylist()) if v)
    compiled = rule_sets(args.programmes, villages, args.seed)
    criteria = sum(len(rs.criteria) for rs in compiled)
    print(f"programmes x criteria {len(compiled):>8} x {criteria // len(compiled)} = {criteria}")
    # Ours evaluates what several programmes have in common once (OpenFisca computes each
    # criterion's variable on its own); say how much the generated catalogue shares.
    probe = Snapshot(table.slice(0, 1), ON)
    distinct = {Run(probe, rs).key(c.rule) for rs in compiled for c in rs.criteria}
    print(f"distinct criteria     {len(distinct):>12} (the same rule with the same parameters)")

    ours_seconds, our_status = ours(compiled, table)
    loading, calculating, their_status = openfisca(compiled, table, args.openfisca_chunk)

    differing = {
        name: int(np.count_nonzero(our_status[name] != their_status[name]))
        for name in our_status
        if not np.array_equal(our_status[name], their_status[name])
    }
    if differing:
        raise SystemExit(f"results differ (criterion: households): {differing}")
    tally = Counter[int]()
    for status in our_status.values():
        values, counts = np.unique(status, return_counts=True)
        tally.update(dict(zip(values.tolist(), counts.tolist(), strict=True)))
    total = table.num_rows
    theirs = loading + calculating
    print(
        f"identical results     {len(our_status)} criteria x {total:,} households "
        f"(true {tally[1]:,}, false {tally[0]:,}, unknown {tally[-1]:,})"
    )
    print(
        f"ours (batch)          {ours_seconds:>12.2f} s  ({total / ours_seconds:,.0f} households/s)"
    )
    chunks = f" in chunks of {args.openfisca_chunk:,}" if args.openfisca_chunk else ""
    print(
        f"OpenFisca{chunks:<13} {theirs:>12.2f} s  ({total / theirs:,.0f} households/s; "
        f"inputs {loading:.2f} s, formulas {calculating:.2f} s)"
    )
    print(
        f"ratio OpenFisca/ours  {theirs / ours_seconds:>12.1f} x  target >= 20 x "
        f"(formulas alone {calculating / ours_seconds:.1f} x)"
    )
    print(f"peak memory (RSS)     {peak_rss_mib():>12.0f} MiB")


if __name__ == "__main__":
    main()
