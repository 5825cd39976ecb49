"""The generator proper: households and their members, NIK and KK numbers, the public API."""

from __future__ import annotations

import random
import uuid
from array import array
from collections.abc import Iterable, Iterator
from typing import Any

from selaras_registry import regions
from selaras_registry.demo.dates import (
    AGE_WINDOW,
    KK_DAYS,
    MAX_DAYS,
    NIK_KEYS,
    REFERENCE_DATE,
    VERIFY_DAYS,
    day_tables,
)
from selaras_registry.demo.family import draw_people
from selaras_registry.demo.ppks import rare_ppks
from selaras_registry.demo.tables import (
    BANJAR,
    BLOOD,
    BUGIS,
    CHRONIC,
    DAENG,
    DESIL,
    DISABILITY,
    EDU_ADULT,
    ELECTRICITY,
    FLOOR,
    GANG,
    INCOME,
    LAND,
    MAKASSAR,
    ORIGIN_REGENCIES,
    ROOF,
    SEED_REGENCIES,
    SEVERITY,
    TOILET,
    WALL,
    WATER,
    ZONE_WORK,
    Names,
)
from selaras_registry.demo.villages import weighted_villages
from selaras_registry.schemas import HouseholdCreate

_SERIAL = tuple(f"{i:04d}" for i in range(10_000))


def _regencies(regencies: Iterable[str] | None) -> tuple[str, ...]:
    if isinstance(regencies, str):
        regencies = (regencies,)  # one code, not its characters
    chosen = tuple(sorted(set(SEED_REGENCIES if regencies is None else regencies)))
    if not chosen:
        raise ValueError("at least one regency is needed")
    unknown = [r for r in chosen if r not in SEED_REGENCIES]
    if unknown:
        raise ValueError(f"no demo villages for regencies {unknown}; use {list(SEED_REGENCIES)}")
    return chosen


class _Generator:
    """The state of one run: random stream, village table and NIK/KK serial counters."""

    def __init__(self, seed: int, regencies: tuple[str, ...]) -> None:
        self.rng = random.Random(seed)
        self.dates = day_tables()
        prefixes: list[str] = []
        for regency in (*SEED_REGENCIES, *ORIGIN_REGENCIES):
            prefixes += [sub.code for sub in regions.children(regency)]
        self.prefixes = tuple(prefixes)
        index = {code: i for i, code in enumerate(prefixes)}
        self.home: dict[str, tuple[int, ...]] = {
            r: tuple(index[s.code] for s in regions.children(r)) for r in regencies
        }
        self.origins = {
            "73": tuple(i for i, p in enumerate(prefixes) if p[:2] == "73"),
            "63": tuple(i for i, p in enumerate(prefixes) if p[:2] == "63"),
        }
        self.makassar = frozenset(index[p] for p in prefixes if p[:4] in MAKASSAR)
        self.villages = weighted_villages(regencies, index)
        self.nik_counts = array("H", bytes(2 * NIK_KEYS * len(prefixes)))
        self.kk_counts = array("H", bytes(2 * (KK_DAYS + 1) * len(prefixes)))

    def nik(self, prefix: int, days: int, female: bool) -> str:
        """A NIK unique in this run for someone born `days` before the reference date."""
        dates = self.dates
        key = prefix * NIK_KEYS + dates.nik_key[days] + female
        serial = self.nik_counts[key] + 1
        if serial > 9999:
            raise ValueError("NIK serials exhausted; generate fewer households per regency")
        self.nik_counts[key] = serial
        encoded = dates.nik_female[days] if female else dates.nik_male[days]
        return self.prefixes[prefix] + encoded + _SERIAL[serial]

    def kk(self, prefix: int, days: int) -> str:
        """A KK number unique in this run, issued `days` before the reference date."""
        key = prefix * (KK_DAYS + 1) + days
        serial = self.kk_counts[key] + 1
        if serial > 9999:
            raise ValueError("KK serials exhausted; generate fewer households per regency")
        self.kk_counts[key] = serial
        # The KK issue date is plain DDMMYY, the same digits as a man's NIK birth date.
        return self.prefixes[prefix] + self.dates.nik_male[days] + _SERIAL[serial]

    def name(self, names: Names, female: bool, age: int, daeng: bool, noble: bool) -> str:
        """A person's name fitting the family's culture and the person's generation."""
        random = self.rng.random
        if age < 30:
            pool = names.female_young if female else names.male_young
        else:
            pool = names.female_old if female else names.male_old
        name = pool[int(random() * len(pool))]
        r = random()
        if daeng and age >= 25 and r < 0.4:
            name = f"{name} Daeng {DAENG[int(random() * len(DAENG))]}"
        elif r < (0.45 if age < 30 else 0.25) and " " not in name:
            name = f"{name} {names.second[int(random() * len(names.second))]}"
        if noble:
            name = f"{names.title_female if female else names.title_male} {name}"
        return name

    def household(self) -> dict[str, Any]:
        """One synthetic household as a `HouseholdCreate`-shaped dict."""
        rng = self.rng
        random = rng.random
        village = self.villages[int(random() * len(self.villages))]
        household_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))

        latent = DESIL[int(random() * len(DESIL))]
        band = 0 if latent <= 2 else 1 if latent <= 4 else 2 if latent <= 7 else 3
        r = random()
        p_national = 0.86 if latent <= 4 else 0.7 if latent <= 6 else 0.45
        if r < p_national:
            status = "national"
        elif r < p_national + (1 - p_national) * 0.55:
            status = "proposed"
        else:
            status = "local"
        national = status == "national"

        # --- who lives here ------------------------------------------------------------
        home = self.home[village.regency]
        home_prefix = village.kk_prefix if random() < 0.85 else home[int(random() * len(home))]
        migrant = random() < (0.12 if village.banjar else 0.06)
        if migrant:
            pool = self.origins["73" if random() < (0.4 if village.banjar else 0.9) else "63"]
            head_prefix = pool[int(random() * len(pool))]
        else:
            head_prefix = home_prefix
        culture = BANJAR if self.prefixes[head_prefix][:2] == "63" else BUGIS
        daeng = head_prefix in self.makassar
        noble = random() < (0.05 if culture is BUGIS else 0.02)

        head_age, spouse, people = draw_people(random, head_prefix, home_prefix, migrant)

        # --- members -------------------------------------------------------------------
        dates = self.dates
        iso = dates.iso
        members: list[dict[str, Any]] = []
        youngest = MAX_DAYS
        has_school = has_small = has_pregnant = has_elder = has_disabled = False
        alone = len(people) == 1
        zone_work = ZONE_WORK[village.zone]
        for relationship, female, age, marital, prefix in people:
            first, span = AGE_WINDOW[age]
            days = first + int(random() * span)  # exactly `age` years old on the reference day
            youngest = min(youngest, days)
            born = REFERENCE_DATE.year - 1 - age
            education: str | None
            in_school: bool | None
            occupation: str | None
            if age < 5:
                education, in_school, occupation = None, None, None
                has_small = True
            elif age < 7:
                education, in_school, occupation = (
                    "tidak_sekolah",
                    age == 6 and random() < 0.4,
                    None,
                )
            elif age <= 18:
                dropout = (0.02, 0.1, 0.25)[0 if age <= 12 else 1 if age <= 15 else 2]
                in_school = random() >= dropout * (1.6 if band == 0 else 1.0 if band == 1 else 0.5)
                education = "tidak_sekolah" if age <= 12 else "sd" if age <= 15 else "smp"
                if in_school:
                    occupation = "pelajar"
                    has_school = True
                else:
                    occupation = (
                        "tidak bekerja"
                        if age < 15 or random() < 0.5
                        else (zone_work[int(random() * len(zone_work))])
                    )
            else:
                cohort = 0 if born < 1970 else 1 if born < 1995 else 2
                if age <= 23 and random() < (0.06, 0.15, 0.3, 0.55)[band]:
                    education, in_school, occupation = "sma", True, "mahasiswa"
                else:
                    table = EDU_ADULT[cohort][band]
                    education, in_school = table[int(random() * len(table))], False
                    if age >= 65 and random() < 0.6:
                        occupation = "tidak bekerja"
                    elif female and marital == "kawin" and random() < 0.55:
                        occupation = "ibu rumah tangga"
                    elif age <= 30 and relationship == "anak" and random() < 0.3:
                        occupation = "tidak bekerja"
                    else:
                        occupation = zone_work[int(random() * len(zone_work))]
                        if education in ("sarjana", "pascasarjana") and random() < 0.5:
                            occupation = ("guru", "PNS", "karyawan swasta")[int(random() * 3)]
            if age >= 60:
                has_elder = True

            ppks: list[str] = []
            disability: dict[str, str] | None = None
            r = random()
            if r < (0.012 if age < 18 else 0.025 if age < 60 else 0.08):
                disability = {
                    "type": DISABILITY[int(random() * len(DISABILITY))],
                    "severity": SEVERITY[int(random() * len(SEVERITY))],
                }
                has_disabled = True
                if age < 18:
                    if random() < 0.7:
                        ppks.append("anak_dengan_kedisabilitasan")
                elif random() < (0.6 if band <= 1 else 0.25):
                    ppks.append("penyandang_disabilitas")
            chronic: str | None = None
            if random() < (0.01 if age < 40 else 0.07 if age < 60 else 0.2):
                chronic = CHRONIC[int(random() * len(CHRONIC))]
            pregnant = False
            if female and marital == "kawin" and 18 <= age <= 45:
                pregnant = random() < (0.1 if age < 35 else 0.04)
                has_pregnant = has_pregnant or pregnant
            if age >= 60 and band <= 1 and random() < (0.25 if alone else 0.05) / (band + 1):
                ppks.append("lanjut_usia_terlantar")
            if (
                relationship == "kepala_keluarga"
                and female
                and not spouse
                and band <= 1
                and random() < 0.35
            ):
                ppks.append("perempuan_rawan_sosial_ekonomi")
            if random() < 0.006:
                rare = rare_ppks(rng, age, female, band, village.zone, in_school)
                if rare is not None and rare not in ppks:
                    ppks.append(rare)
            if len(ppks) > 1:
                ppks.sort()

            members.append(
                {
                    "nik": self.nik(prefix, days, female),
                    "name": self.name(culture, female, age, daeng, noble and relationship in BLOOD),
                    "sex": "female" if female else "male",
                    "birth_date": iso[days],
                    "relationship": relationship,
                    "marital_status": marital,
                    "education": education,
                    "in_school": in_school,
                    "occupation": occupation,
                    "disability": disability,
                    "chronic_illness": chronic,
                    "pregnant": pregnant,
                    "ppks": ppks,
                }
            )

        # --- household -----------------------------------------------------------------
        # A family card is reissued when a member is added, so it postdates the youngest.
        issued = 1 + int(random() * min(youngest, KK_DAYS, (head_age - 17) * 365))
        verified = 1 + int(random() * min(issued, VERIFY_DAYS))
        kk_number = self.kk(village.kk_prefix, issued)

        housing = {
            "floor": FLOOR[band][int(random() * len(FLOOR[band]))],
            "wall": WALL[band][int(random() * len(WALL[band]))],
            "roof": ROOF[band][int(random() * len(ROOF[band]))],
            "toilet": TOILET[band][int(random() * len(TOILET[band]))],
            "water": WATER[band][int(random() * len(WATER[band]))],
            "electricity_va": ELECTRICITY[band][int(random() * len(ELECTRICITY[band]))],
            "land_ownership": LAND[band][int(random() * len(LAND[band]))],
        }
        if village.zone == "island" and housing["water"] in ("ledeng", "sungai"):
            housing["water"] = "air_kemasan"  # no piped water or rivers on small islands
        low, spread = INCOME[latent]
        income: int | None = (low + int(random() * spread)) // 50_000 * 50_000
        if random() < 0.03:
            income = None

        household_ppks: list[str] = []
        if random() < (0.55, 0.35, 0.12, 0.04, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)[latent - 1]:
            household_ppks.append("fakir_miskin")
        if random() < (0.07 if village.flood else 0.015):
            household_ppks.append("korban_bencana_alam")
        if village.adat and random() < 0.3:
            household_ppks.append("komunitas_adat_terpencil")
        r = random()
        if r < 0.004:
            household_ppks.append("keluarga_bermasalah_sosial_psikologis")
        elif r < 0.006:
            household_ppks.append("korban_bencana_sosial")
        household_ppks.sort()

        programs: list[str] = []
        component = has_school or has_small or has_pregnant or has_elder or has_disabled
        if national:
            pkh = (0.7, 0.7, 0.35, 0.1, 0.03, 0.03, 0.0, 0.0, 0.0, 0.0)[latent - 1]
            if component and random() < pkh:
                programs.append("PKH")
            if random() < (0.75, 0.75, 0.5, 0.25, 0.08, 0.08, 0.02, 0.02, 0.0, 0.0)[latent - 1]:
                programs.append("BPNT")
            if random() < (0.85, 0.85, 0.85, 0.6, 0.6, 0.3, 0.05, 0.05, 0.05, 0.0)[latent - 1]:
                programs.append("PBI_JKN")
            if has_school and random() < (0.5 if latent <= 3 else 0.2 if latent <= 5 else 0.0):
                programs.append("PIP")
            if (has_disabled or has_elder) and latent <= 3 and random() < 0.05:
                programs.append("ATENSI")
        if (
            not village.kelurahan
            and latent <= 4
            and not programs
            and random() < (0.3 if national else 0.15)
        ):
            programs.append("BLT_DD")  # village funds go to the poor left out of other aid
        poor_house = housing["floor"] == "tanah" or housing["wall"] == "bambu"
        if poor_house and latent <= 3 and random() < 0.08:
            programs.append("RUTILAHU")
        programs.sort()

        if village.kelurahan or (village.banjar and village.zone != "island"):
            if village.kelurahan or random() < 0.5:
                street = village.streets[int(random() * len(village.streets))]
                address = f"Jl. {street} No. {1 + int(random() * 150)}"
                if village.banjar and street == "Ahmad Yani" and random() < 0.7:
                    address = f"Jl. Ahmad Yani Km. {30 + int(random() * 15)}"
                elif not village.banjar and random() < 0.15:
                    address += f" Lr. {1 + int(random() * 6)}"
            elif random() < 0.6:
                address = f"Gg. {GANG[int(random() * len(GANG))]} No. {1 + int(random() * 40)}"
            else:
                kampung = village.dusun[int(random() * len(village.dusun))]
                address = kampung if kampung.startswith("Kampung") else f"Kampung {kampung}"
            rt = str(1 + int(random() * 12))
            rw: str | None = None if village.banjar else str(1 + int(random() * 6))
        else:
            dusun_index = int(random() * len(village.dusun))
            dusun = village.dusun[dusun_index]
            address = dusun if dusun.startswith("Pulau") else f"Dusun {dusun}"
            rt = str(1 + int(random() * 5))
            rw = None if village.banjar else str(dusun_index + 1)

        return {
            "id": household_id,
            "kk_number": kk_number,
            "address": address,
            "rt": rt,
            "rw": rw,
            "village_code": village.code,
            "desil": latent if national else None,
            "registry_status": status,
            "housing": housing,
            "monthly_income": income,
            "programs_received": programs,
            "ppks": household_ppks,
            "data_source": "dtsen" if national else "puskesos",
            "verified_on": iso[verified],
            "members": members,
        }


def generate_rows(
    count: int, *, seed: int = 2016, regencies: Iterable[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Yield `count` synthetic households as plain `HouseholdCreate`-shaped dicts."""
    if count < 0:
        raise ValueError("count must not be negative")
    generator = _Generator(seed, _regencies(regencies))
    return (generator.household() for _ in range(count))


def generate(
    count: int, *, seed: int = 2016, regencies: Iterable[str] | None = None
) -> Iterator[HouseholdCreate]:
    """Yield `count` synthetic households validated as `HouseholdCreate`."""
    rows = generate_rows(count, seed=seed, regencies=regencies)
    return (HouseholdCreate.model_validate(row) for row in rows)
