"""The catalogue of fields a rule may read (`var`), typed, from the registry's household document.

Household fields are read at the top of the document (`GET /households/{id}`); member fields
only inside member operations (`some`/`all`/`none`, `count_members`, `sum_members`).
*Desil* is the welfare decile (1 = poorest); PPKS are the 26 categories of people in need of
social welfare services (Permensos 8/2012). The code lists mirror `selaras_registry.codes`
(a service never imports another; a test keeps the two equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class ValueType(StrEnum):
    """Types of the rule language."""

    number = "number"
    boolean = "boolean"
    code = "code"
    codes = "list of codes"
    null = "null"
    #: The type of a node that already has a problem: accepted anywhere, to avoid cascades.
    error = "error"


@dataclass(frozen=True)
class FieldSpec:
    """One readable field: where it is in the document, its type, and what null means."""

    name: str
    type: ValueType
    scope: Literal["household", "member"]
    path: tuple[str, ...]
    #: True: null means the value is not known (the answer becomes unknown).
    #: False: null is a value in its own right (no disability, no chronic illness).
    null_is_missing: bool = True
    #: Allowed codes, checked against literals at compile time (None: free text).
    codes: frozenset[str] | None = None


PPKS = frozenset(
    {
        "anak_balita_terlantar",
        "anak_terlantar",
        "anak_berhadapan_dengan_hukum",
        "anak_jalanan",
        "anak_dengan_kedisabilitasan",
        "anak_korban_tindak_kekerasan",
        "anak_memerlukan_perlindungan_khusus",
        "lanjut_usia_terlantar",
        "penyandang_disabilitas",
        "tuna_susila",
        "gelandangan",
        "pengemis",
        "pemulung",
        "kelompok_minoritas",
        "bekas_warga_binaan_pemasyarakatan",
        "odha",
        "korban_napza",
        "korban_trafficking",
        "korban_tindak_kekerasan",
        "pekerja_migran_bermasalah_sosial",
        "korban_bencana_alam",
        "korban_bencana_sosial",
        "perempuan_rawan_sosial_ekonomi",
        "fakir_miskin",
        "keluarga_bermasalah_sosial_psikologis",
        "komunitas_adat_terpencil",
    }
)

CODE_LISTS: dict[str, frozenset[str]] = {
    "sex": frozenset({"male", "female"}),
    "relationship": frozenset(
        {
            "kepala_keluarga",
            "suami",
            "istri",
            "anak",
            "menantu",
            "cucu",
            "orang_tua",
            "mertua",
            "famili_lain",
            "lainnya",
        }
    ),
    "marital_status": frozenset({"belum_kawin", "kawin", "cerai_hidup", "cerai_mati"}),
    "education": frozenset(
        {"tidak_sekolah", "sd", "smp", "sma", "diploma", "sarjana", "pascasarjana"}
    ),
    "disability_type": frozenset(
        {
            "fisik",
            "intelektual",
            "mental",
            "sensorik_netra",
            "sensorik_rungu",
            "sensorik_wicara",
            "ganda",
        }
    ),
    "severity": frozenset({"ringan", "sedang", "berat"}),
    "registry_status": frozenset({"national", "proposed", "local"}),
    "floor": frozenset({"tanah", "bambu", "kayu", "semen", "keramik"}),
    "wall": frozenset({"bambu", "kayu", "tembok_tanpa_plester", "tembok"}),
    "roof": frozenset({"ijuk_rumbia", "seng", "asbes", "genteng", "beton"}),
    "toilet": frozenset({"tidak_ada", "bersama", "sendiri"}),
    "water": frozenset(
        {"sungai", "sumur_tidak_terlindung", "sumur_terlindung", "ledeng", "air_kemasan"}
    ),
    "land_ownership": frozenset({"milik_sendiri", "sewa", "menumpang", "lainnya"}),
    "ppks": PPKS,
}


def _household(name: str, type: ValueType, codes: str | None = None) -> FieldSpec:
    return FieldSpec(
        name, type, "household", tuple(name.split(".")), codes=CODE_LISTS.get(codes or "")
    )


def _member(
    name: str, type: ValueType, codes: str | None = None, *, null_is_missing: bool = True
) -> FieldSpec:
    return FieldSpec(
        name,
        type,
        "member",
        tuple(name.split(".")),
        null_is_missing=null_is_missing,
        codes=CODE_LISTS.get(codes or ""),
    )


N, B, C, L = ValueType.number, ValueType.boolean, ValueType.code, ValueType.codes

#: `member_count` is derived (active members in the document), not read from a key.
HOUSEHOLD_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        _household("desil", N),
        _household("monthly_income", N),
        _household("village_code", C),
        _household("registry_status", C, "registry_status"),
        _household("housing.floor", C, "floor"),
        _household("housing.wall", C, "wall"),
        _household("housing.roof", C, "roof"),
        _household("housing.toilet", C, "toilet"),
        _household("housing.water", C, "water"),
        _household("housing.electricity_va", N),
        _household("housing.land_ownership", C, "land_ownership"),
        _household("programs_received", L),
        _household("ppks", L, "ppks"),
        _household("member_count", N),
    )
}

#: `age` is derived: whole years at the evaluation date, from `birth_date`.
MEMBER_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        _member("sex", C, "sex"),
        _member("age", N),
        _member("relationship", C, "relationship"),
        _member("marital_status", C, "marital_status"),
        _member("education", C, "education"),
        _member("in_school", B),
        _member("occupation", C),
        _member("disability.type", C, "disability_type", null_is_missing=False),
        _member("disability.severity", C, "severity", null_is_missing=False),
        _member("chronic_illness", C, null_is_missing=False),
        _member("pregnant", B),
        _member("ppks", L, "ppks"),
    )
}

#: The collection that member operations range over.
MEMBERS = "members"
