"""Parsing one CSV cell of the import layout (identifiers, dates, sex, yes/no, `|` lists)
and the bilingual messages of the import's own row issues."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from selaras_shared.i18n import Text, validation_message

_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d*)?[eE][+-]?\d+$")

EXCEL_TEXT_HINT = (
    "Excel mengubah angka ini; format kolom sebagai Teks lalu ekspor ulang",
    "Excel changed this number; format the column as Text and export again",
)

MESSAGES: dict[str, tuple[str, str]] = {
    "scientific_notation": EXCEL_TEXT_HINT,
    "decimal": (
        "Angka ini berakhiran .0 karena diubah Excel; format kolom sebagai Teks lalu ekspor ulang",
        "This number ends in .0 because Excel changed it; format the column as Text and export"
        " again",
    ),
    "date_format": (
        "Tanggal tidak sah; gunakan dd/mm/yyyy atau yyyy-mm-dd",
        "Not a valid date; use dd/mm/yyyy or yyyy-mm-dd",
    ),
    "bool_format": (
        "Isi dengan ya atau tidak",
        "Use ya (yes) or tidak (no)",
    ),
    "household_mismatch": (
        "Kolom keluarga {column} berbeda dengan baris {row} keluarga yang sama ({expected})",
        "Household column {column} differs from row {row} of the same family ({expected})",
    ),
    "duplicate_row": (
        "Baris ini sama persis dengan baris {row}; dilewati",
        "This row repeats row {row} exactly; skipped",
    ),
    "nik_duplicate_in_family": (
        "NIK {nik} sudah ada di baris {row} keluarga ini dengan data berbeda",
        "NIK {nik} already appears in row {row} of this family with different data",
    ),
    "column_count": (
        "Baris ini memiliki {found} kolom, seharusnya {expected}",
        "This row has {found} columns, expected {expected}",
    ),
    "disability_severity": (
        "Tingkat disabilitas diisi hanya jika jenis disabilitas diisi",
        "Disability severity needs a disability type",
    ),
    "json_invalid": (
        "Baris ini bukan JSON yang sah: {error}",
        "This line is not valid JSON: {error}",
    ),
    "line_too_long": (
        "Baris terlalu panjang (lebih dari {limit} karakter)",
        "Line too long (more than {limit} characters)",
    ),
}


def text(code: str, **params: Any) -> Text:
    """The bilingual message of one of the import's own issue codes."""
    id_, en = MESSAGES[code]
    return Text(id_, en, params)


def pydantic_text(error_type: str, english: str, ctx: dict[str, Any] | None) -> Text:
    """The same words the API uses for this validation error, in Indonesian and English."""
    simple = {k: v for k, v in (ctx or {}).items() if isinstance(v, str | int | float)}
    return Text(validation_message(error_type, english, simple, "id"), english)


class CellError(Exception):
    """A cell that cannot be read as its column's kind; `code` is the row issue's code."""

    def __init__(self, code: str, message: Text) -> None:
        super().__init__(message.en)
        self.code = code
        self.message = message


def identifier(value: str, prefix: str) -> str:
    """A NIK or KK number: Excel's leading apostrophe dropped, Excel's damage named."""
    if value.isdigit():
        return value
    if value[:1] == "'":
        value = value[1:].lstrip()
        if value.isdigit():
            return value
    if _SCIENTIFIC.match(value):
        raise CellError(f"{prefix}_scientific_notation", text("scientific_notation"))
    if value.endswith(".0") and value[:-2].isdigit():
        raise CellError(f"{prefix}_decimal", text("decimal"))
    return value  # the schema names what is wrong with it


def parse_date(value: str) -> date:
    """A date written dd/mm/yyyy, d/m/yyyy, dd-mm-yyyy or yyyy-mm-dd."""
    try:
        if len(value) == 10 and value[4] == "-":
            return date.fromisoformat(value)
        parts = value.replace("-", "/").split("/")
        if len(parts) == 3 and len(parts[2]) == 4 and len(parts[0]) <= 2:
            return date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        pass
    raise CellError("date_format", text("date_format"))


_SEX = {
    "male": "male",
    "female": "female",
    "l": "male",
    "p": "female",
    "lk": "male",
    "pr": "female",
    "laki-laki": "male",
    "laki laki": "male",
    "perempuan": "female",
}


def sex(value: str) -> str:
    """`male`/`female` from the family card's L/P or the Indonesian and English words."""
    return _SEX.get(value.lower(), value)  # an unknown value gets the schema's message


_BOOL = {
    "ya": True,
    "y": True,
    "yes": True,
    "true": True,
    "1": True,
    "tidak": False,
    "no": False,
    "false": False,
    "0": False,
}


def yes_no(value: str) -> bool:
    """ya/tidak, yes/no, true/false or 1/0 (a lone `t` is refused: tidak or true?)."""
    found = _BOOL.get(value.lower())
    if found is None:
        raise CellError("bool_format", text("bool_format"))
    return found


def code(value: str) -> str:
    """A code-list value as the API spells it, forgiving case and spaces (`Kepala Keluarga`)."""
    return value.lower().replace(" ", "_") if not value.islower() or " " in value else value


def codes(value: str) -> list[str]:
    """A `|`-separated list of codes."""
    return [part.strip() for part in value.split("|") if part.strip()]
