"""Accept-Language negotiation and bilingual texts."""

from __future__ import annotations

import pytest

from selaras_shared import i18n
from selaras_shared.i18n import (
    Text,
    negotiate_language,
    register_validation_messages,
    validation_message,
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("id", "id"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("EN-gb", "en"),
        ("en;q=0.2, id;q=0.8", "id"),
        ("id;q=0.3, en;q=0.7", "en"),
        ("id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7", "id"),
        ("fr", "id"),
        ("fr-FR, de;q=0.9", "id"),
        ("fr, en;q=0.1", "en"),
        ("", "id"),
        (None, "id"),
        ("in", "id"),
        ("in-ID, en;q=0.5", "id"),
        # q=0 means "not acceptable": such entries never win.
        ("en;q=0, id;q=0.1", "id"),
        ("id;q=0, en;q=0.1", "en"),
        ("en;q=0.0", "id"),
        ("en;q=0", "id"),
        # An unreadable quality counts as 0.
        ("en;q=abc", "id"),
        ("en;q=abc, fr", "id"),
        # On equal quality the earlier entry wins.
        ("en, id", "en"),
        ("id, en", "id"),
        ("en;q=0.5, id;q=0.5", "en"),
        ("  en  ;q=0.9 ,  id;q=0.4 ", "en"),
        ("*", "id"),
    ],
)
def test_negotiate_language(header: str | None, expected: str) -> None:
    assert negotiate_language(header) == expected


def test_text_renders_both_languages_with_params() -> None:
    text = Text("Halo {name}, {n} pesan", "Hello {name}, {n} messages", {"name": "Ani", "n": 3})
    assert text.render("id") == "Halo Ani, 3 pesan"
    assert text.render("en") == "Hello Ani, 3 messages"


def test_text_without_params_is_left_verbatim() -> None:
    # No params: braces are not a template (a detail may quote user input with braces).
    text = Text("Kolom {x}", "Field {x}")
    assert text.render("id") == "Kolom {x}"
    assert text.render("en") == "Field {x}"


def test_text_with_params_returns_a_copy() -> None:
    base = Text("{a} dan {b}", "{a} and {b}", {"a": 1})
    both = base.with_params(b=2)
    assert both.render("en") == "1 and 2"
    assert both.render("id") == "1 dan 2"
    assert base.params == {"a": 1}
    overridden = both.with_params(a="x")
    assert overridden.render("en") == "x and 2"
    with pytest.raises(KeyError):
        base.render("en")


def test_validation_message_indonesian_with_context() -> None:
    assert validation_message("missing", "Field required", {}, "id") == "Wajib diisi"
    assert (
        validation_message("string_too_short", "too short", {"min_length": 3}, "id")
        == "Terlalu pendek (minimal 3 karakter)"
    )
    assert (
        validation_message("greater_than_equal", "ge 0", {"ge": 0}, "id")
        == "Harus paling sedikit 0"
    )


def test_validation_message_english_and_fallbacks() -> None:
    assert validation_message("missing", "Field required", {}, "en") == "Field required"
    # An error type without an Indonesian template keeps pydantic's English message.
    assert validation_message("no_such_type", "Something odd", {}, "id") == "Something odd"
    # A template whose context is missing is returned unformatted rather than failing.
    assert validation_message("greater_than", "gt", {}, "id") == "Harus lebih besar dari {gt}"


def test_register_validation_messages() -> None:
    kind = "selaras_test_nik_checksum"
    assert validation_message(kind, "Bad NIK checksum", {}, "id") == "Bad NIK checksum"
    register_validation_messages({kind: "Digit periksa NIK {digit} salah"})
    try:
        assert validation_message(kind, "Bad", {"digit": 9}, "id") == "Digit periksa NIK 9 salah"
        assert validation_message(kind, "Bad", {"digit": 9}, "en") == "Bad"
    finally:
        i18n._VALIDATION_ID.pop(kind)
