"""The synthetic villages: their codes and names, livelihood zones and relative sizes."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from selaras_registry import regions
from selaras_registry.demo.tables import (
    ADAT,
    CAPITALS,
    CITIES,
    COASTAL,
    FLOOD_PRONE,
    ISLAND,
    POPULATION,
    SEED_REGENCIES,
    STREETS,
    UPLAND,
    URBAN,
    expand,
    words,
)

_NAMED_VILLAGES = {"7303082005": "Bonto Majannang", "7303012004": "Bonto Jai"}

# Village-name parts: (first words, second words).
_SULSEL_PARTS = (
    words(
        "Bonto, Borong, Bulu, Tanete, Balang, Lembang, Kampung, Salo, Ujung, Labbo, Batu,"
        " Tamarunang, Barua, Lappa, Bori, Pallantikang, Onto"
    ),
    words(
        "Baru, Tinggi, Lebang, Rita, Loe, Tangnga, Cinde, Marannu, Sallang, Karaeng, Bira,"
        " Pute, Lompo, Caddi, Mangasa, Tiro, Sunggu, Parang, Daya, Rannu, Jaya, Matene,"
        " Tallasa, Bahari, Kassi, Lamba"
    ),
)
_LUWU_PARTS = (
    words("Salu, Batu, Tompo, Benteng, Buntu, Padang, Lebang, Salo, Tana, Bone"),
    words(
        "Pasi, Datu, Tanga, Lambe, Lalebbata, Ale, Tellue, Marambu, Kambo, Malebba, Rampoang,"
        " Purangi, Maroangin, Tappong, Lagaligo, Sampoddo"
    ),
)
_BANJAR_PARTS = (
    words(
        "Sungai, Tanjung, Teluk, Pematang, Tambak, Handil, Anjir, Banua, Murung, Tatah,"
        " Padang, Lok, Karang, Pasar, Kampung"
    ),
    words(
        "Tabuk, Batang, Rangas, Lulut, Kitano, Alang, Rabuk, Paring, Baru, Jingah, Bakung,"
        " Lenga, Puting, Hanyar, Raya, Halang, Gampa, Tiung, Intan, Makmur, Sari, Rumbia,"
        " Muara, Keramat, Tengah, Hulu, Hilir"
    ),
)
_ISLAND_PARTS = (
    ("Mattiro",),
    words(
        "Bombang, Deceng, Sompe, Baji, Walie, Dolangeng, Uleng, Matae, Langi, Ujung, Labuang,"
        " Bulu, Kanja, Adae, Ampe, Intang, Labangeng, Tasi, Tengngae, Sabuntu, Sappa, Lebbae,"
        " Malise, Tenggae, Ajae, Makmur"
    ),
)
_ISLANDS = words(
    "Sabangko, Salemo, Sagara, Karanrang, Laiya, Kapoposang, Sapuli, Sailus, Kalukalukuang,"
    " Sabutung, Saugi, Podang-Podang, Kulambing, Satando, Badi, Pala, Matalaang, Kanyurang,"
    " Doang-Doangan, Balang Lompo, Pamanggangan"
)


def _village_name(rng: random.Random, parts: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
    return f"{rng.choice(parts[0])} {rng.choice(parts[1])}"


def _build_villages() -> dict[str, str]:
    """The demo villages: a handful per sub-district of each seed regency."""
    rng = random.Random(7303)
    villages: dict[str, str] = {}
    for regency in SEED_REGENCIES:
        taken = set(_NAMED_VILLAGES.values())
        for sub in regions.children(regency):
            code = sub.code
            if regency.startswith("63"):
                parts = _BANJAR_PARTS
            elif code in ISLAND:
                parts = _ISLAND_PARTS
            elif regency == "7373":
                parts = _LUWU_PARTS
            else:
                parts = _SULSEL_PARTS
            if regency in CITIES:
                kelurahan, desa = rng.randint(4, 6), 0
            elif code in CAPITALS:
                kelurahan, desa = 3, rng.randint(2, 3)
            else:
                kelurahan, desa = int(rng.random() < 0.35), rng.randint(3, 5)
            desa = max(desa, *(int(v[-3:]) for v in _NAMED_VILLAGES if v[:6] == code), 0)
            numbered = [f"{code}1{i:03d}" for i in range(1, kelurahan + 1)]
            numbered += [f"{code}2{i:03d}" for i in range(1, desa + 1)]
            for village in numbered:
                name = _NAMED_VILLAGES.get(village)
                for _ in range(1000):
                    if name is not None and (name not in taken or village in _NAMED_VILLAGES):
                        break
                    name = _village_name(rng, parts)
                else:  # pragma: no cover - the name parts give far more names than needed
                    raise RuntimeError(f"ran out of village names for {code}")
                taken.add(name)
                villages[village] = name
    return villages


DEMO_VILLAGES: dict[str, str] = _build_villages()
"""Village code -> name of the synthetic villages (codes illustrative, see module docstring)."""


@dataclass(frozen=True)
class Village:
    """A synthetic village and what the generator needs to know about it."""

    code: str
    regency: str
    kk_prefix: int  # index of its sub-district in the NIK prefix list
    zone: str
    kelurahan: bool
    banjar: bool
    dusun: tuple[str, ...]
    streets: tuple[str, ...]
    flood: bool
    adat: bool


def _zone(sub: str) -> str:
    if sub in ISLAND:
        return "island"
    if sub in URBAN:
        return "urban"
    if sub in COASTAL:
        return "coastal"
    if sub in UPLAND:
        return "upland"
    return "rural"


def weighted_villages(regencies: tuple[str, ...], index: Mapping[str, int]) -> tuple[Village, ...]:
    """The villages of `regencies`, each repeated in proportion to its number of households.

    `index` gives the position of each sub-district code in the NIK prefix list.
    """
    per_regency = Counter(code[:4] for code in DEMO_VILLAGES)
    villages: list[Village] = []
    weights: list[int] = []
    for code in DEMO_VILLAGES:
        regency = code[:4]
        if regency not in regencies:
            continue
        local = random.Random(int(code))
        sub = code[:6]
        zone = _zone(sub)
        banjar = regency.startswith("63")
        if zone == "island":
            dusun = tuple(f"Pulau {n}" for n in local.sample(_ISLANDS, 3))
        else:
            parts = _BANJAR_PARTS if banjar else _SULSEL_PARTS
            dusun = tuple(sorted({_village_name(local, parts) for _ in range(4)}))
        villages.append(
            Village(
                code=code,
                regency=regency,
                kk_prefix=index[sub],
                zone=zone,
                kelurahan=code[6] == "1",
                banjar=banjar,
                dusun=dusun,
                streets=STREETS[regency],
                flood=sub in FLOOD_PRONE,
                adat=sub in ADAT,
            )
        )
        # Villages differ in size; the regency total follows its population.
        size = POPULATION[regency] * 6 * local.randint(6, 14) // (10 * per_regency[regency])
        weights.append(max(1, size))
    return expand(dict(zip(villages, weights, strict=True)))
