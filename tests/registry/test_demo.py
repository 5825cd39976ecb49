"""The synthetic household generator: deterministic, valid, unique identifiers, believable."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from selaras_registry import regions
from selaras_registry.demo import (
    DEMO_VILLAGES,
    REFERENCE_DATE,
    SEED_REGENCIES,
    generate,
    generate_rows,
)
from selaras_registry.schemas import HouseholdCreate

Row = dict[str, Any]


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    """A large sample shared by the tests that only read it."""
    return list(generate_rows(20_000, seed=11))


def _age(member: Row) -> int:
    born = date.fromisoformat(member["birth_date"])
    today = REFERENCE_DATE
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _head(row: Row) -> Row:
    return next(m for m in row["members"] if m["relationship"] == "kepala_keluarga")


def test_same_seed_gives_same_households() -> None:
    assert list(generate_rows(300, seed=5)) == list(generate_rows(300, seed=5))


def test_different_seed_gives_different_households() -> None:
    first = list(generate_rows(50, seed=5))
    second = list(generate_rows(50, seed=6))
    assert first != second
    assert {r["id"] for r in first}.isdisjoint(r["id"] for r in second)


def test_shorter_run_is_prefix_of_longer_run() -> None:
    assert list(generate_rows(40)) == list(generate_rows(400))[:40]


def test_regency_order_does_not_matter() -> None:
    one = list(generate_rows(100, regencies=["7303", "6303"]))
    other = list(generate_rows(100, regencies=["6303", "7303", "6303"]))
    assert one == other


def test_rows_validate_and_are_already_in_canonical_form() -> None:
    for row in generate_rows(2_000, seed=3):
        model = HouseholdCreate.model_validate(row)
        assert model.model_dump(mode="json") == row


def test_generate_yields_validated_models_of_the_same_rows() -> None:
    models = list(generate(30, seed=9))
    assert all(isinstance(m, HouseholdCreate) for m in models)
    assert [m.model_dump(mode="json") for m in models] == list(generate_rows(30, seed=9))


def test_ids_are_uuid4_and_unique(rows: list[Row]) -> None:
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    assert all(i[14] == "4" for i in ids)


def test_nik_unique_across_all_households(rows: list[Row]) -> None:
    niks = [m["nik"] for r in rows for m in r["members"]]
    assert len(niks) > 60_000
    assert len(set(niks)) == len(niks)


def test_nik_unique_when_one_small_regency_gets_many_households() -> None:
    niks = [m["nik"] for r in generate_rows(20_000, regencies=["7373"]) for m in r["members"]]
    assert len(set(niks)) == len(niks)


def test_kk_numbers_unique_and_issued_in_the_village_sub_district(rows: list[Row]) -> None:
    kks = [r["kk_number"] for r in rows]
    assert len(set(kks)) == len(kks)
    for row in rows[:2_000]:
        kk = row["kk_number"]
        assert kk[:6] == row["village_code"][:6]
        issued = date(2000 + int(kk[10:12]), int(kk[8:10]), int(kk[6:8]))
        assert date(2008, 1, 1) <= issued < REFERENCE_DATE
        # A family card is reissued when a member is added, so no member is born after it.
        assert all(date.fromisoformat(m["birth_date"]) <= issued for m in row["members"])


def test_demo_villages_are_well_formed() -> None:
    assert len(DEMO_VILLAGES) > 100
    assert len(set(DEMO_VILLAGES.values())) > 0.9 * len(DEMO_VILLAGES)
    for code in DEMO_VILLAGES:
        region = regions.lookup(code)
        assert region is not None and region.level == "village", code
        assert code[:4] in SEED_REGENCIES
    # Each seed regency's sub-districts all get a handful of villages.
    for regency in SEED_REGENCIES:
        for sub in regions.children(regency):
            assert 3 <= sum(code[:6] == sub.code for code in DEMO_VILLAGES) <= 8


def test_city_villages_are_kelurahan_and_regency_villages_mostly_desa() -> None:
    palopo = [c for c in DEMO_VILLAGES if c.startswith("7373")]
    assert all(c[6] == "1" for c in palopo)
    banjar = [c for c in DEMO_VILLAGES if c.startswith("6303")]
    assert sum(c[6] == "2" for c in banjar) > 0.7 * len(banjar)


def test_named_bantaeng_villages_exist_and_are_used() -> None:
    named = {name: code for code, name in DEMO_VILLAGES.items()}
    assert named["Bonto Majannang"].startswith("7303")
    assert named["Bonto Jai"].startswith("7303")
    used = {r["village_code"] for r in generate_rows(3_000, regencies=["7303"])}
    assert {named["Bonto Majannang"], named["Bonto Jai"]} <= used


def test_village_codes_stay_within_requested_regencies() -> None:
    wanted = {"7310", "6303"}
    for row in generate_rows(1_000, regencies=wanted):
        assert row["village_code"] in DEMO_VILLAGES
        assert row["village_code"][:4] in wanted


def test_single_regency_code_may_be_given_as_a_string() -> None:
    assert {r["village_code"][:4] for r in generate_rows(200, regencies="7309")} == {"7309"}


def test_all_seed_regencies_are_used_by_default(rows: list[Row]) -> None:
    assert {r["village_code"][:4] for r in rows} == set(SEED_REGENCIES)
    assert all(r["village_code"] in DEMO_VILLAGES for r in rows)


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="regencies"):
        generate_rows(10, regencies=["3171"])
    with pytest.raises(ValueError, match="regency"):
        generate_rows(10, regencies=[])
    with pytest.raises(ValueError, match="negative"):
        generate_rows(-1)
    assert list(generate_rows(0)) == []


def test_household_sizes_are_believable(rows: list[Row]) -> None:
    sizes = [len(r["members"]) for r in rows]
    assert min(sizes) == 1 and max(sizes) <= 9
    assert 3 <= statistics.mean(sizes) <= 5
    assert sum(3 <= s <= 5 for s in sizes) > 0.5 * len(sizes)


def test_desil_skews_poor_and_is_missing_only_outside_the_national_registry(
    rows: list[Row],
) -> None:
    ranked = [r["desil"] for r in rows if r["desil"] is not None]
    assert sum(d <= 4 for d in ranked) > 0.5 * len(ranked)
    assert Counter(ranked)[1] > Counter(ranked)[8]
    for row in rows:
        national = row["registry_status"] == "national"
        assert (row["desil"] is not None) == national
        assert row["data_source"] == ("dtsen" if national else "puskesos")
    assert 0.03 < sum(r["desil"] is None for r in rows) / len(rows) < 0.5


def test_income_housing_and_programmes_follow_desil(rows: list[Row]) -> None:
    def mean_income(desil: int) -> float:
        incomes: list[int] = [r["monthly_income"] for r in rows if r["desil"] == desil]
        return statistics.mean(i for i in incomes if i is not None)

    assert mean_income(1) < mean_income(4) < mean_income(8)
    assert all(
        300_000 <= r["monthly_income"] <= 6_000_000 for r in rows if r["monthly_income"] is not None
    )

    def share(desils: range, test: Callable[[Row], object]) -> float:
        chosen = [r for r in rows if r["desil"] in desils]
        return sum(bool(test(r)) for r in chosen) / len(chosen)

    assert share(range(1, 3), lambda r: r["housing"]["floor"] == "tanah") > share(
        range(7, 11), lambda r: r["housing"]["floor"] == "tanah"
    )
    assert share(range(1, 3), lambda r: "PKH" in r["programs_received"]) > 0.3
    assert share(range(7, 11), lambda r: "PKH" in r["programs_received"]) < 0.02
    assert share(range(1, 3), lambda r: "fakir_miskin" in r["ppks"]) > 0.3
    assert share(range(5, 11), lambda r: "fakir_miskin" in r["ppks"]) == 0
    # BLT Dana Desa is village money: never in a kelurahan.
    assert not any("BLT_DD" in r["programs_received"] for r in rows if r["village_code"][6] == "1")


def test_family_ages_and_sexes_are_consistent(rows: list[Row]) -> None:
    for row in rows:
        head = _head(row)
        head_age = _age(head)
        assert 20 <= head_age <= 80
        for member in row["members"]:
            age = _age(member)
            relationship = member["relationship"]
            if relationship in ("istri", "suami"):
                assert member["sex"] != head["sex"]
                assert abs(age - head_age) <= 15
            elif relationship == "anak":
                assert age <= head_age - 15
            elif relationship == "cucu":
                assert age <= head_age - 34
            elif relationship == "orang_tua":
                assert age >= head_age + 18
            if member["pregnant"]:
                assert member["sex"] == "female" and 18 <= age <= 45


def test_school_and_work_fit_age(rows: list[Row]) -> None:
    members = [m for r in rows for m in r["members"]]
    school_age = [m for m in members if 7 <= _age(m) <= 18]
    assert sum(bool(m["in_school"]) for m in school_age) > 0.8 * len(school_age)
    assert all(m["occupation"] is None for m in members if _age(m) < 5)
    assert all(m["education"] == "tidak_sekolah" for m in members if 5 <= _age(m) <= 12)
    occupations = Counter(m["occupation"] for m in members)
    for common in ("petani", "nelayan", "ibu rumah tangga", "pelajar", "buruh harian lepas"):
        assert occupations[common] > 0.01 * len(members), common


def test_ppks_are_rare_and_fit_the_person(rows: list[Row]) -> None:
    members = [m for r in rows for m in r["members"]]
    with_ppks = [m for m in members if m["ppks"]]
    assert 0 < len(with_ppks) < 0.1 * len(members)
    for member in with_ppks:
        if "penyandang_disabilitas" in member["ppks"]:
            assert member["disability"] is not None and _age(member) >= 18
        if "anak_dengan_kedisabilitasan" in member["ppks"]:
            assert member["disability"] is not None and _age(member) < 18
        if "lanjut_usia_terlantar" in member["ppks"]:
            assert _age(member) >= 60


def test_nik_prefix_is_usually_the_household_regency(rows: list[Row]) -> None:
    members = [(r["village_code"][:4], m["nik"][:4]) for r in rows for m in r["members"]]
    local = sum(village == nik for village, nik in members) / len(members)
    assert 0.85 < local < 1.0  # migrants keep the NIK of where they first registered


def test_names_fit_the_region(rows: list[Row]) -> None:
    def names(prefix: str) -> Counter[str]:
        return Counter(
            word
            for r in rows
            if r["village_code"].startswith(prefix)
            for m in r["members"]
            for word in m["name"].split()
        )

    bantaeng, banjar = names("7303"), names("6303")
    assert bantaeng["Daeng"] > 0 and bantaeng["Andi"] > 0
    assert banjar["Noor"] + banjar["Nor"] > 0
    assert banjar["Daeng"] < bantaeng["Daeng"] / 10


def test_dates_are_as_of_the_reference_day(rows: list[Row]) -> None:
    for row in rows[:2_000]:
        assert "2024-01-01" <= row["verified_on"] <= "2025-12-31"
        for member in row["members"]:
            assert member["birth_date"] < REFERENCE_DATE.isoformat()
