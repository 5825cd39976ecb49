"""The documented CSV layout of a bulk import: one row per member, household columns repeated
on every row of the family, Indonesian header aliases, and the downloadable template."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

Level = Literal["household", "member"]
Kind = Literal["text", "id", "code", "int", "date", "bool", "sex", "list"]


@dataclass(frozen=True)
class Column:
    """One column of the CSV layout: canonical name, accepted aliases and how cells parse."""

    name: str
    level: Level
    kind: Kind
    description_id: str
    description_en: str
    example: str
    required: bool = False
    aliases: tuple[str, ...] = ()


def _h(
    name: str, kind: Kind, d_id: str, d_en: str, ex: str, *aliases: str, req: bool = False
) -> Column:
    return Column(name, "household", kind, d_id, d_en, ex, req, aliases)


def _m(
    name: str, kind: Kind, d_id: str, d_en: str, ex: str, *aliases: str, req: bool = False
) -> Column:
    return Column(name, "member", kind, d_id, d_en, ex, req, aliases)


COLUMNS: tuple[Column, ...] = (
    _h("kk_number", "id", "Nomor Kartu Keluarga (16 digit, format kolom Teks)",
       "Family card number (16 digits, format the column as Text)", "7303081203150004",
       "no_kk", "nomor_kk", req=True),
    _h("address", "text", "Alamat", "Address", "Dusun Bonto Jai, Jl. Poros Bantaeng No. 12",
       "alamat", req=True),
    _h("rt", "text", "RT (1-3 digit)", "RT neighbourhood unit (1-3 digits)", "002"),
    _h("rw", "text", "RW (1-3 digit)", "RW community unit (1-3 digits)", "001"),
    _h("village_code", "text", "Kode desa/kelurahan Kemendagri (10 digit)",
       "Kemendagri village code (10 digits)", "7303082005", "kode_desa", "kode_kelurahan",
       req=True),
    _h("desil", "int", "Desil kesejahteraan 1-10", "Welfare decile 1-10", "2"),
    _h("registry_status", "code", "Status DTSEN: national, proposed, local",
       "National registry standing: national, proposed, local", "national", "status_dtsen"),
    _h("housing_floor", "code", "Jenis lantai", "Floor material", "tanah", "lantai"),
    _h("housing_wall", "code", "Jenis dinding", "Wall material", "bambu", "dinding"),
    _h("housing_roof", "code", "Jenis atap", "Roof material", "seng", "atap"),
    _h("housing_toilet", "code", "Fasilitas jamban", "Toilet facility", "bersama", "jamban"),
    _h("housing_water", "code", "Sumber air minum", "Drinking water source",
       "sumur_terlindung", "sumber_air"),
    _h("housing_electricity_va", "int", "Daya listrik (VA)", "Electricity (VA)", "450",
       "daya_listrik"),
    _h("housing_land_ownership", "code", "Status kepemilikan lahan", "Land ownership",
       "milik_sendiri", "status_lahan"),
    _h("monthly_income", "int", "Penghasilan per bulan (rupiah, bilangan bulat)",
       "Monthly income (whole rupiah)", "900000", "penghasilan"),
    _h("programs_received", "list", "Kode program yang diterima, dipisah |",
       "Programme codes received, separated by |", "PKH|BPNT", "program_diterima"),
    _h("household_ppks", "list", "Kategori PPKS keluarga, dipisah |",
       "Household PPKS categories, separated by |", "fakir_miskin", "ppks_keluarga"),
    _h("data_source", "text", "Sumber data", "Data source", "dtsen", "sumber_data"),
    _h("verified_on", "date", "Tanggal verifikasi (dd/mm/yyyy atau yyyy-mm-dd)",
       "Verification date (dd/mm/yyyy or yyyy-mm-dd)", "15/01/2025", "tanggal_verifikasi"),
    _m("nik", "id", "NIK (16 digit, format kolom Teks)",
       "NIK (16 digits, format the column as Text)", "7303081705800001", req=True),
    _m("name", "text", "Nama lengkap", "Full name", "Andi Baso", "nama", req=True),
    _m("sex", "sex", "Jenis kelamin: L/P, laki-laki/perempuan, male/female",
       "Sex: L/P, laki-laki/perempuan, male/female", "L", "jenis_kelamin", req=True),
    _m("birth_date", "date", "Tanggal lahir (dd/mm/yyyy atau yyyy-mm-dd)",
       "Birth date (dd/mm/yyyy or yyyy-mm-dd)", "17/05/1980", "tanggal_lahir", req=True),
    _m("relationship", "code", "Hubungan dengan kepala keluarga",
       "Relationship to the head of the family", "kepala_keluarga", "hubungan", req=True),
    _m("marital_status", "code", "Status perkawinan", "Marital status", "kawin",
       "status_perkawinan"),
    _m("education", "code", "Pendidikan tertinggi", "Highest education", "sd", "pendidikan"),
    _m("in_school", "bool", "Masih sekolah: ya/tidak", "In school: ya/tidak (yes/no)", "tidak",
       "bersekolah"),
    _m("occupation", "text", "Pekerjaan", "Occupation", "petani", "pekerjaan"),
    _m("disability_type", "code", "Jenis disabilitas", "Disability type", "",
       "jenis_disabilitas"),
    _m("disability_severity", "code", "Tingkat disabilitas: ringan, sedang, berat",
       "Disability severity: ringan, sedang, berat", "", "tingkat_disabilitas"),
    _m("chronic_illness", "text", "Penyakit kronis", "Chronic illness", "", "penyakit_kronis"),
    _m("pregnant", "bool", "Sedang hamil: ya/tidak", "Pregnant: ya/tidak (yes/no)", "tidak",
       "hamil"),
    _m("member_ppks", "list", "Kategori PPKS anggota, dipisah |",
       "Member PPKS categories, separated by |", "", "ppks_anggota"),
)  # fmt: skip

BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
HOUSEHOLD_COLUMNS = tuple(c.name for c in COLUMNS if c.level == "household")
REQUIRED = tuple(c.name for c in COLUMNS if c.required)


def header_key(raw: str) -> str:
    """The comparable form of a header cell: trimmed, lower-case, spaces as underscores."""
    return "_".join(raw.strip().lower().replace("-", " ").split())


@cache
def _aliases() -> dict[str, str]:
    table: dict[str, str] = {}
    for column in COLUMNS:
        table[column.name] = column.name
        for alias in column.aliases:
            table[alias] = column.name
    return table


def canonical(raw: str) -> str | None:
    """The canonical column name for a header cell, or None when it is not in the layout."""
    return _aliases().get(header_key(raw))


def describe() -> list[dict[str, Any]]:
    """The layout as documented by the API: one entry per column, in template order."""
    return [
        {
            "name": c.name,
            "aliases": list(c.aliases),
            "level": c.level,
            "required": c.required,
            "description": {"id": c.description_id, "en": c.description_en},
            "example": c.example,
        }
        for c in COLUMNS
    ]


# The template's family: a head, his wife and a child. NIKs agree with birth date and sex
# (day + 40 for women) and their region 730308 is a real sub-district (Sinoa, Bantaeng).
_TEMPLATE_MEMBERS: tuple[dict[str, str], ...] = (
    {},
    {
        "nik": "7303084703850002",
        "name": "Sitti Aminah",
        "sex": "P",
        "birth_date": "07/03/1985",
        "relationship": "istri",
        "occupation": "ibu rumah tangga",
        "pregnant": "ya",
    },
    {
        "nik": "7303082109120003",
        "name": "Muhammad Rizal",
        "sex": "L",
        "birth_date": "2012-09-21",
        "relationship": "anak",
        "marital_status": "belum_kawin",
        "in_school": "ya",
        "occupation": "pelajar",
        "member_ppks": "",
    },
)


def template_csv(delimiter: str = ",") -> str:
    """A CSV template with every column and one example family (three members)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([c.name for c in COLUMNS])
    for changes in _TEMPLATE_MEMBERS:
        writer.writerow([changes.get(c.name, c.example) for c in COLUMNS])
    return out.getvalue()
