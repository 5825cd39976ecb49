"""The demo catalogue loads through the CLI, every rule set compiles, and no rule is dead."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from selaras_eligibility.cli import MIGRATIONS, main, read_file
from selaras_eligibility.models import Organization, Program, ProgramArea, RuleSet
from selaras_eligibility.rules.compiler import compile_rule_set
from selaras_eligibility.rules.document import validate_document
from selaras_eligibility.rules.explain import evaluate
from selaras_eligibility.rules.nodes import CompiledRuleSet
from selaras_registry.demo import generate_rows
from selaras_shared.db import make_engine
from selaras_shared.migrations import upgrade

DEMO_DIR = Path(__file__).parents[2] / "services/eligibility/demo"
DEMO = DEMO_DIR / "catalogue.yaml"
ON = date(2025, 7, 1)
PROGRAMMES = {
    "PKH",
    "BPNT",
    "PBI_JKN",
    "PIP",
    "RUTILAHU",
    "ATENSI",
    "BLT_DD",
    "SULSEL_MODAL_PPKS",
    "PANGKEP_VOKASI",
    "BAZNAS_7303_ZAKAT",
    "SULSELBAR_BEDAH_RUMAH",
    "TONASA_PESISIR",
}


@pytest.fixture(scope="module")
def households() -> list[dict[str, Any]]:
    """Synthetic households of the five demo regencies, plus more of Bantaeng (7303) so that
    the two demo villages hold enough households for the village programme."""
    return list(generate_rows(2000, seed=2016)) + list(
        generate_rows(1000, seed=7303, regencies=["7303"])
    )


async def _loaded(url: str) -> list[tuple[Any, list[str], Any]]:
    """Each programme row with its areas and its published rule-set row, as stored."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            programs = (await connection.execute(select(Program))).all()
            areas = (await connection.execute(select(ProgramArea))).all()
            rules = (
                await connection.execute(select(RuleSet).where(RuleSet.status == "published"))
            ).all()
            owners = {row.id for row in (await connection.execute(select(Organization))).all()}
    finally:
        await engine.dispose()
    assert {program.owner_id for program in programs} <= owners
    by_program = {rule.program_id: rule for rule in rules}
    assert len(by_program) == len(rules), "one published rule set per programme"
    return [
        (
            program,
            [area.prefix for area in areas if area.program_id == program.id],
            by_program[program.id],
        )
        for program in programs
    ]


def _covered(households: list[dict[str, Any]], areas: list[str]) -> Iterator[dict[str, Any]]:
    return (h for h in households if any(h["village_code"].startswith(a) for a in areas))


def _screen(compiled: CompiledRuleSet, households: Iterator[dict[str, Any]]) -> dict[str, Any]:
    """Status counts, and the eligible households themselves."""
    counts: Counter[str] = Counter()
    eligible: list[dict[str, Any]] = []
    for household in households:
        status = evaluate(compiled, household, ON).status
        counts[status] += 1
        if status == "eligible":
            eligible.append(household)
    return {"counts": counts, "eligible": eligible}


async def test_demo_catalogue_loads_compiles_and_every_rule_is_live(
    databases: Any, monkeypatch: Any, capsys: Any, households: list[dict[str, Any]]
) -> None:
    url = await databases.new("eligibility_demo")
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    monkeypatch.setenv("SELARAS_ELIGIBILITY_DATABASE_URL", url)
    assert await asyncio.to_thread(main, ["load", str(DEMO)]) == 0
    assert "rules PKH v1: published" in capsys.readouterr().err

    loaded = await _loaded(url)
    assert {program.code for program, _, _ in loaded} == PROGRAMMES
    results: dict[str, dict[str, Any]] = {}
    for program, areas, rule_set in loaded:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]{1,31}", program.code)
        assert program.legal_basis, program.code
        compiled = compile_rule_set(validate_document(rule_set.document))
        assert compiled.content_hash == rule_set.content_sha256
        assert compiled.in_force(ON), program.code
        result = _screen(compiled, _covered(households, areas))
        counts = result["counts"]
        # No dead rule: someone qualifies and someone does not, in the programme's area.
        assert counts["eligible"] >= 1, (program.code, counts)
        assert counts["not_eligible"] >= 1, (program.code, counts)
        # No programme takes in nearly everyone it covers.
        assert counts["eligible"] < 0.8 * counts.total(), (program.code, counts)
        results[program.code] = result

    def deciles(code: str) -> Counter[int | None]:
        return Counter(h["desil"] for h in results[code]["eligible"])

    # Decile-targeted central programmes reach only deciles 1-4, mostly the poorest.
    for code in ("PKH", "BPNT", "PIP", "RUTILAHU"):
        found = deciles(code)
        assert set(found) <= {1, 2, 3, 4}, (code, found)
        assert found[1] + found[2] > found[3] + found[4], (code, found)
    # Sembako reaches most registered households of deciles 1-4 (only DTSEN status limits it).
    poor = [h for h in households if h["desil"] in (1, 2, 3, 4)]
    assert len(results["BPNT"]["eligible"]) > 0.7 * len(poor)
    # PKH needs a component: fewer families than Sembako.
    assert len(results["PKH"]["eligible"]) < len(results["BPNT"]["eligible"])
    # Exclusions written as criteria hold.
    for household in results["BLT_DD"]["eligible"]:
        assert not {"PKH", "BPNT"} & set(household["programs_received"])
    for household in results["SULSELBAR_BEDAH_RUMAH"]["eligible"]:
        assert "RUTILAHU" not in household["programs_received"]
    # ATENSI has no means test but is for a few: rehabilitation needs are rare.
    assert len(results["ATENSI"]["eligible"]) < 0.2 * len(households)

    # Loading again changes nothing.
    assert await asyncio.to_thread(main, ["load", str(DEMO)]) == 0
    again = capsys.readouterr().err
    assert "created" not in again and "updated" not in again and "published" in again


def test_readme_names_every_programme_and_says_illustrative() -> None:
    readme = (DEMO_DIR / "README.md").read_text()
    catalogue = read_file(DEMO)
    for program in catalogue["programs"]:
        assert f"`{program['code']}`" in readme, program["code"]
    assert "illustrative" in readme.lower() and "ilustrasi" in readme.lower()
    assert {program["code"] for program in catalogue["programs"]} == PROGRAMMES
    assert {document["program"] for document in catalogue["rule_sets"]} == PROGRAMMES
