"""Bilingual (Indonesian / English) texts and Accept-Language negotiation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Lang = Literal["id", "en"]
DEFAULT_LANG: Lang = "id"


@dataclass(frozen=True)
class Text:
    """A message in Indonesian and English, formatted with the same parameters."""

    id: str
    en: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: Lang) -> str:
        """Return the message in `lang`, with its parameters filled in."""
        template = self.id if lang == "id" else self.en
        return template.format(**self.params) if self.params else template

    def with_params(self, **params: Any) -> Text:
        """Return a copy of this text with (more) parameters."""
        return Text(self.id, self.en, {**self.params, **params})


def negotiate_language(accept_language: str | None) -> Lang:
    """Pick `id` or `en` from an Accept-Language header by quality; Indonesian by default."""
    if not accept_language:
        return DEFAULT_LANG
    best: tuple[float, int, Lang] | None = None
    refused: set[Lang] = set()
    for position, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        lang: Lang | None = "id" if primary in ("id", "in") else "en" if primary == "en" else None
        if lang is not None and quality <= 0:
            refused.add(lang)
        if lang is None or quality <= 0:
            continue
        # Higher quality wins; on a tie the earlier entry wins.
        candidate = (quality, -position, lang)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best:
        return best[2]
    return "en" if DEFAULT_LANG in refused else DEFAULT_LANG


# Indonesian renderings of pydantic's validation error types; English comes from pydantic.
# Services add their own custom error types with `register_validation_messages`.
_VALIDATION_ID: dict[str, str] = {
    "missing": "Wajib diisi",
    "extra_forbidden": "Kolom tidak dikenal",
    "string_type": "Harus berupa teks",
    "int_type": "Harus berupa bilangan bulat",
    "int_parsing": "Harus berupa bilangan bulat",
    "int_from_float": "Harus berupa bilangan bulat",
    "float_type": "Harus berupa angka",
    "float_parsing": "Harus berupa angka",
    "bool_type": "Harus berupa true atau false",
    "bool_parsing": "Harus berupa true atau false",
    "date_type": "Harus berupa tanggal (YYYY-MM-DD)",
    "date_parsing": "Harus berupa tanggal (YYYY-MM-DD)",
    "date_from_datetime_parsing": "Harus berupa tanggal (YYYY-MM-DD)",
    "datetime_type": "Harus berupa waktu ISO 8601",
    "datetime_parsing": "Harus berupa waktu ISO 8601",
    "datetime_from_date_parsing": "Harus berupa waktu ISO 8601",
    "uuid_type": "Harus berupa UUID",
    "uuid_parsing": "Harus berupa UUID",
    "list_type": "Harus berupa daftar",
    "dict_type": "Harus berupa objek",
    "model_type": "Harus berupa objek",
    "model_attributes_type": "Harus berupa objek",
    "enum": "Nilai tidak diizinkan; pilihan: {expected}",
    "literal_error": "Nilai tidak diizinkan; pilihan: {expected}",
    "string_too_short": "Terlalu pendek (minimal {min_length} karakter)",
    "string_too_long": "Terlalu panjang (maksimal {max_length} karakter)",
    "too_short": "Terlalu sedikit (minimal {min_length} butir)",
    "too_long": "Terlalu banyak (maksimal {max_length} butir)",
    "string_pattern_mismatch": "Format tidak sesuai",
    "greater_than": "Harus lebih besar dari {gt}",
    "greater_than_equal": "Harus paling sedikit {ge}",
    "less_than": "Harus lebih kecil dari {lt}",
    "less_than_equal": "Harus paling banyak {le}",
    "json_invalid": "JSON tidak valid",
    "json_type": "JSON tidak valid",
    "value_error": "Nilai tidak valid",
}


def register_validation_messages(messages: dict[str, str]) -> None:
    """Add Indonesian templates for a service's custom validation error types."""
    _VALIDATION_ID.update(messages)


def validation_message(error_type: str, english: str, ctx: dict[str, Any], lang: Lang) -> str:
    """Render one pydantic validation error in `lang`."""
    if lang == "en":
        return english
    template = _VALIDATION_ID.get(error_type)
    if template is None:
        return english
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return template
