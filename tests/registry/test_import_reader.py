"""The bulk-import reader: CSV/NDJSON layout, file problems, row issues mapped to the file."""

from __future__ import annotations

import csv
import gc
import io
import json
import pickle
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from selaras_registry.imports import layout
from selaras_registry.imports.reader import count_rows, raw_batches, validate_batch
from selaras_registry.imports.records import FamilyRecord, FileProblem, ImportOptions, RowIssue
from selaras_registry.schemas import HouseholdCreate

from .factories import household, member, nik

HEADER = [c.name for c in layout.COLUMNS]


def csv_text(*households: dict[str, Any], delimiter: str = ",", header: list[str] = HEADER) -> str:
    """A CSV file of these households in the documented layout."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for payload in households:
        writer.writerows(layout.family_rows(payload))
    return out.getvalue()


def write(tmp_path: Path, content: str | bytes, name: str = "import.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def read(path: Path, **options: Any) -> list[FamilyRecord]:
    """Every family of the file, validated (batches pickled as on their way to a worker)."""
    opts = ImportOptions(**{"format": "csv", **options})
    records: list[FamilyRecord] = []
    for batch in raw_batches(path, opts, families_per_batch=2):
        records += pickle.loads(pickle.dumps(validate_batch(pickle.loads(pickle.dumps(batch)))))
    return records


def only(records: list[FamilyRecord]) -> FamilyRecord:
    assert len(records) == 1, records
    return records[0]


def issue(record: FamilyRecord, code: str) -> RowIssue:
    found = [i for i in record.issues if i.code == code]
    assert found, record.issues
    return found[0]


def problem(path: Path, **options: Any) -> FileProblem:
    with pytest.raises(FileProblem) as caught:
        read(path, **options)
    return caught.value


def expected(payload: dict[str, Any]) -> dict[str, Any]:
    return HouseholdCreate.model_validate(payload).model_dump()


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# --- layout and template -------------------------------------------------------------


def test_template_parses_into_one_valid_family(tmp_path: Path) -> None:
    record = only(read(write(tmp_path, layout.template_csv())))
    assert record.issues == []
    assert record.household is not None
    assert (record.first_row, record.last_row, record.kk_number) == (2, 4, "7303081203150004")
    wife = record.household.members[1]
    assert (wife.sex.value, wife.birth_date, wife.pregnant) == ("female", date(1985, 3, 7), True)
    assert record.household.programs_received == ["BPNT", "PKH"]


def test_layout_is_documented_in_template_order() -> None:
    described = layout.describe()
    assert [c["name"] for c in described] == rows_of(layout.template_csv())[0]
    by_name = {c["name"]: c for c in described}
    assert by_name["kk_number"]["aliases"] == ["no_kk", "nomor_kk"]
    assert by_name["sex"]["level"] == "member" and by_name["sex"]["required"] is True
    assert by_name["desil"]["required"] is False
    assert by_name["nik"]["description"]["en"].startswith("NIK")
    required = {c["name"] for c in described if c["required"]}
    assert required == {
        "kk_number",
        "address",
        "village_code",
        "nik",
        "name",
        "sex",
        "birth_date",
        "relationship",
    }


# --- well-formed files ---------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("bom", [False, True])
def test_a_file_reads_back_as_the_households_written(
    tmp_path: Path, delimiter: str, bom: bool
) -> None:
    payloads = [household(), household(), household()]
    text = csv_text(*payloads, delimiter=delimiter)
    records = read(write(tmp_path, ("\ufeff" if bom else "") + text))
    assert [r.issues for r in records] == [[], [], []]
    assert [r.household.model_dump() for r in records if r.household] == [
        expected(p) for p in payloads
    ]
    assert [(r.first_row, r.last_row) for r in records] == [(2, 4), (5, 7), (8, 10)]
    assert [r.kk_number for r in records] == [p["kk_number"] for p in payloads]


def test_quoted_cells_keep_separators_quotes_and_newlines(tmp_path: Path) -> None:
    address = 'Jl. "Poros", No. 12; Blok A\nDusun Bonto'
    for delimiter in (",", ";"):
        payload = household(address=address)
        text = csv_text(payload, delimiter=delimiter)
        assert '"Jl. ""Poros"", No. 12; Blok A\nDusun Bonto"' in text
        record = only(read(write(tmp_path, text)))
        assert record.household is not None, record.issues
        assert record.household.address == address


def test_indonesian_headers_and_values(tmp_path: Path) -> None:
    head, wife = nik(date(1980, 5, 17), "male"), nik(date(1985, 3, 7), "female")
    text = (
        "No KK; Alamat ;KODE_DESA;nik;Nama;Jenis Kelamin;Tanggal_Lahir;Hubungan;hamil;"
        "bersekolah;program_diterima;ppks_anggota;penghasilan\n"
        f"'7303011203150001;Dusun Bonto;7303012005;{head};Andi;L;17/05/1980;"
        "Kepala Keluarga;tidak;TIDAK;PKH | BPNT;;1500000\n"
        f"'7303011203150001;Dusun Bonto;7303012005;'{wife};Sitti;perempuan;7-3-1985;istri;"
        "Ya;;PKH | BPNT;fakir_miskin|penyandang_disabilitas;1500000\n"
    )
    record = only(read(write(tmp_path, text)))
    assert record.issues == []
    assert record.household is not None
    assert record.kk_number == "7303011203150001"
    andi, sitti = record.household.members
    assert (andi.sex.value, andi.relationship.value, andi.in_school) == (
        "male",
        "kepala_keluarga",
        False,
    )
    assert (sitti.nik, sitti.sex.value, sitti.birth_date, sitti.pregnant) == (
        wife,
        "female",
        date(1985, 3, 7),
        True,
    )
    assert [p.value for p in sitti.ppks] == ["fakir_miskin", "penyandang_disabilitas"]
    assert record.household.programs_received == ["BPNT", "PKH"]
    assert record.household.monthly_income == 1_500_000


@pytest.mark.parametrize("written", ["17/05/1980", "17-05-1980", "1980-05-17", "17/5/1980"])
def test_date_formats(tmp_path: Path, written: str) -> None:
    payload = household()
    text = csv_text(payload).replace("1980-05-17", written)
    record = only(read(write(tmp_path, text)))
    assert record.household is not None, record.issues
    assert record.household.members[0].birth_date == date(1980, 5, 17)


def test_windows_1252_is_read_when_asked(tmp_path: Path) -> None:
    text = csv_text(household(members=[member(name="José Daeng")]))
    path = write(tmp_path, text.encode("cp1252"))
    record = only(read(path, encoding="windows-1252"))
    assert record.household is not None
    assert record.household.members[0].name == "José Daeng"


def test_blank_rows_and_excel_trailing_columns_are_ignored(tmp_path: Path) -> None:
    lines = csv_text(household()).splitlines()
    text = "\r\n".join([lines[0] + ",,", lines[1] + ",,", "", ",,,,", lines[2], lines[3]]) + "\r\n"
    path = write(tmp_path, text)
    record = only(read(path))
    assert record.household is not None, record.issues
    assert (record.first_row, record.last_row) == (2, 6)
    assert count_rows(path, ImportOptions("csv")) == 5


def test_batches_keep_families_whole_and_count_progress(tmp_path: Path) -> None:
    text = csv_text(*(household() for _ in range(5)))
    path = write(tmp_path, text)
    batches = list(raw_batches(path, ImportOptions("csv"), families_per_batch=2))
    assert [len(b.families) for b in batches] == [2, 2, 1]
    assert [len(f) for b in batches for f in b.families] == [3] * 5
    assert [b.rows_done for b in batches] == [6, 12, 15]
    assert batches[-1].bytes_done == path.stat().st_size
    assert count_rows(path, ImportOptions("csv")) == 15


def test_a_family_number_seen_again_later_is_a_second_family(tmp_path: Path) -> None:
    first, other = household(), household()
    lines = csv_text(first, other).splitlines()
    text = "\n".join([lines[0], lines[1], lines[4], lines[2]]) + "\n"
    records = read(write(tmp_path, text))
    # The runner, which sees every batch, reports the repeated KK number.
    kk_numbers = [first["kk_number"], other["kk_number"], first["kk_number"]]
    assert [r.kk_number for r in records] == kk_numbers


# --- file problems -------------------------------------------------------------------


def test_missing_and_unknown_columns_are_named(tmp_path: Path) -> None:
    header = [h for h in HEADER if h not in ("village_code", "birth_date")] + ["hobi"]
    found = problem(write(tmp_path, ",".join(header) + "\n"))
    assert found.code == "columns_invalid" and found.row == 1
    assert "hobi" in found.message.en and "village_code, birth_date" in found.message.en
    assert "tidak dikenal: hobi" in found.message.id
    missing = problem(write(tmp_path, "no_kk,alamat,kode_desa,nik,nama\n"))
    assert missing.code == "missing_columns"
    assert missing.message.en == "Columns required but missing: sex, birth_date, relationship"
    doubled = problem(write(tmp_path, ",".join([*HEADER, "nama"]) + "\n"))
    assert doubled.code == "duplicate_columns" and "name" in doubled.message.en


def test_wrong_separator(tmp_path: Path) -> None:
    text = csv_text(household())
    assert problem(write(tmp_path, text), delimiter=";").code == "wrong_separator"
    piped = problem(write(tmp_path, text.replace(",", "|")))
    assert piped.code == "wrong_separator" and "single column" in piped.message.en


def test_empty_file_and_unsupported_encoding(tmp_path: Path) -> None:
    assert problem(write(tmp_path, "")).code == "header_missing"
    assert problem(write(tmp_path, csv_text()), encoding="utf-16").code == "encoding_unsupported"


def test_invalid_utf8_names_its_row(tmp_path: Path) -> None:
    # Row 2 holds a newline inside quotes, so the bad bytes are on line 5 but in row 4.
    text = csv_text(household(address="Dusun\nBonto"), household(members=[member(name="Jos@")]))
    path = write(tmp_path, text.encode().replace(b"Jos@", b"Jos\xe9"))
    found = problem(path)
    assert (found.code, found.row) == ("encoding_invalid", 5)
    assert "Row 5" in found.message.render("en") and "0xE9" in found.message.render("en")
    assert "windows-1252" in found.message.en and "CSV UTF-8" in found.message.id
    text = csv_text(household(address="Dusun\nBonto"), household())
    lines = text.encode().split(b"\r\n")
    lines[5] = lines[5].replace(b"Dusun", b"D\xe9sun", 1)
    assert problem(write(tmp_path, b"\r\n".join(lines))).row == 6
    assert problem(write(tmp_path, b"nik,nama\xff\n")).row == 1


def test_unterminated_quote_names_the_row_it_opened(tmp_path: Path) -> None:
    lines = csv_text(*(household(address="Dusun Bonto Jai") for _ in range(3))).splitlines()
    lines[5] = lines[5].replace("Dusun Bonto Jai", '"Dusun Bonto Jai', 1)
    path = write(tmp_path, "\n".join(lines) + "\n")
    batches = raw_batches(path, ImportOptions("csv"), families_per_batch=1)
    assert len(next(batches).families) == 1  # the first family, before the problem
    with pytest.raises(FileProblem) as caught:
        list(batches)
    assert (caught.value.code, caught.value.row) == ("broken_quote", 6)
    message = caught.value.message
    assert "row 6" in message.render("en") and "baris 6" in message.render("id")


def test_quote_swallowing_lines_up_to_a_later_quote(tmp_path: Path) -> None:
    lines = csv_text(*(household(address="Dusun Bonto Jai") for _ in range(2))).splitlines()
    lines[2] = lines[2].replace("Dusun Bonto Jai", '"Dusun Bonto Jai', 1)
    # A stray quote before a separator (a television's 32") closes it without a csv error.
    lines[3] = lines[3].replace("Muhammad Rafli", 'Muhammad Rafli 32"', 1)
    text = "\n".join(lines) + "\n"
    found = problem(write(tmp_path, text))
    assert (found.code, found.row, found.message.params["detail"]) == ("broken_quote", 3, "newline")


# --- row issues ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("1.23E+15", "nik_scientific_notation"),
        ("7,30301E+15", "nik_scientific_notation"),
        ("7303011705800001.0", "nik_decimal"),
    ],
)
def test_excel_damaged_nik(tmp_path: Path, written: str, code: str) -> None:
    payload = household()
    rows = rows_of(csv_text(payload))
    rows[3][HEADER.index("nik")] = written
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    record = only(read(write(tmp_path, out.getvalue())))
    assert record.household is None
    assert record.issues == [
        RowIssue(4, "nik", written, code, record.issues[0].message),
    ]
    message = record.issues[0].message
    if code == "nik_scientific_notation":
        assert message.render("en") == (
            "Excel changed this number; format the column as Text and export again"
        )
        assert message.render("id").startswith("Excel mengubah angka ini")


def test_excel_damaged_kk_number(tmp_path: Path) -> None:
    rows = rows_of(csv_text(household()))
    for row in rows[1:]:
        row[HEADER.index("kk_number")] = "7,30301E+15"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    record = only(read(write(tmp_path, out.getvalue())))
    found = issue(record, "kk_scientific_notation")
    assert (found.row, found.field, found.value) == (2, "kk_number", "7,30301E+15")
    assert record.kk_number == "7,30301E+15"


def test_household_columns_must_agree_within_a_family(tmp_path: Path) -> None:
    rows = rows_of(csv_text(household()))
    rows[3][HEADER.index("address")] = "Dusun Lain"
    rows[3][HEADER.index("desil")] = "3"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    record = only(read(write(tmp_path, out.getvalue())))
    assert record.household is None
    assert [(i.row, i.field, i.value, i.code) for i in record.issues] == [
        (4, "address", "Dusun Lain", "household_mismatch"),
        (4, "desil", "3", "household_mismatch"),
    ]
    assert record.issues[0].message.render("en") == (
        "Household column address differs from row 2 of the same family "
        "(Dusun Bonto Jai, Jl. Poros Bantaeng No. 12)"
    )


def test_exact_duplicate_row_is_skipped_with_a_warning(tmp_path: Path) -> None:
    payload = household()
    lines = csv_text(payload).splitlines()
    text = "\n".join([*lines[:3], lines[2], lines[3]]) + "\n"
    record = only(read(write(tmp_path, text)))
    assert record.household is not None
    assert record.household.model_dump() == expected(payload)
    assert [(i.row, i.code, i.warning) for i in record.issues] == [(4, "duplicate_row", True)]
    assert record.issues[0].message.render("id") == "Baris ini sama persis dengan baris 3; dilewati"


def test_same_nik_on_different_rows_is_an_error(tmp_path: Path) -> None:
    payload = household()
    rows = rows_of(csv_text(payload))
    rows[3][HEADER.index("nik")] = rows[2][HEADER.index("nik")]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    record = only(read(write(tmp_path, out.getvalue())))
    assert record.household is None
    found = issue(record, "nik_duplicate_in_family")
    assert (found.row, found.field, found.warning) == (4, "nik", False)
    assert "row 3" in found.message.render("en")


def test_schema_errors_point_at_row_and_column(tmp_path: Path) -> None:
    payload = household(village_code="7303019999", housing={"floor": "marmer"})
    payload["members"][2]["nik"] = "1234"
    payload["members"][0]["sex"] = "X"
    header, body = csv_text(payload).replace("marmer", "Marmer").split("\r\n", 1)
    record = only(read(write(tmp_path, f"{header}\r\n\r\n{body}")))  # blank row 2
    assert record.household is None
    found = {(i.row, i.field, i.value, i.code) for i in record.issues}
    assert found == {
        (3, "village_code", "7303019999", "village_code_unknown"),
        (3, "housing_floor", "Marmer", "enum"),
        (3, "sex", "X", "enum"),
        (5, "nik", "1234", "nik_format"),
    }
    floor = next(i for i in record.issues if i.field == "housing_floor").message
    assert floor.render("id").startswith("Nilai tidak diizinkan; pilihan: 'tanah'")
    assert floor.render("en").startswith("Input should be 'tanah'")


def test_head_count_is_reported_on_the_first_row(tmp_path: Path) -> None:
    payload = household()
    payload["members"][1]["relationship"] = "kepala_keluarga"
    record = only(read(write(tmp_path, csv_text(payload))))
    assert [(i.row, i.field, i.value, i.code) for i in record.issues] == [
        (2, "relationship", "kepala_keluarga", "head_count")
    ]
    head = record.issues[0].message
    assert head.render("id") == "Keluarga harus memiliki tepat satu kepala keluarga (ada 2)"
    assert head.render("en") == "A family needs exactly one head (found 2)"


def test_cell_errors_dates_yes_no_and_severity(tmp_path: Path) -> None:
    payload = household()
    rows = rows_of(csv_text(payload))
    rows[1][HEADER.index("birth_date")] = "31/02/1980"
    rows[2][HEADER.index("pregnant")] = "t"
    rows[3][HEADER.index("disability_type")] = ""
    rows[1][HEADER.index("verified_on")] = "17 Agustus 2025"
    for row in rows[2:]:
        row[HEADER.index("verified_on")] = "17 Agustus 2025"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    record = only(read(write(tmp_path, out.getvalue())))
    assert {(i.row, i.field, i.code) for i in record.issues} == {
        (2, "birth_date", "date_format"),
        (2, "verified_on", "date_format"),
        (3, "pregnant", "bool_format"),
        (4, "disability_severity", "disability_severity"),
    }
    dated = issue(record, "date_format").message
    assert dated.render("en") == "Not a valid date; use dd/mm/yyyy or yyyy-mm-dd"
    assert dated.render("id") == "Tanggal tidak sah; gunakan dd/mm/yyyy atau yyyy-mm-dd"


def test_a_row_with_the_wrong_number_of_cells(tmp_path: Path) -> None:
    lines = csv_text(household()).splitlines()
    lines[2] = lines[2].rsplit(",", 3)[0]
    record = only(read(write(tmp_path, "\n".join(lines) + "\n")))
    assert record.household is None
    found = issue(record, "column_count")
    assert (found.row, found.message.render("en")) == (
        3,
        f"This row has {len(HEADER) - 3} columns, expected {len(HEADER)}",
    )


# --- NDJSON --------------------------------------------------------------------------


def test_ndjson_lines_are_households(tmp_path: Path) -> None:
    good, bad = household(), household()
    bad["members"][0]["nik"] = 7.30301e15
    lines = [json.dumps(good), "", "{not json", json.dumps(bad), json.dumps([1])]
    path = write(tmp_path, "\ufeff" + "\n".join(lines) + "\n", "import.ndjson")
    assert count_rows(path, ImportOptions("ndjson")) == 5
    batches = list(raw_batches(path, ImportOptions("ndjson"), families_per_batch=2))
    assert batches[-1].rows_done == 5
    records = [r for b in batches for r in validate_batch(b)]
    assert [r.first_row for r in records] == [1, 3, 4, 5]
    ok, broken, invalid, not_object = records
    assert ok.household is not None and ok.household.model_dump() == expected(good)
    assert ok.kk_number == good["kk_number"]
    assert [(i.row, i.field, i.code) for i in broken.issues] == [(3, "", "json_invalid")]
    assert broken.issues[0].message.render("id").startswith("Baris ini bukan JSON yang sah")
    assert invalid.household is None and invalid.kk_number == bad["kk_number"]
    assert [(i.row, i.field, i.value, i.code) for i in invalid.issues] == [
        (4, "members.0.nik", "7303010000000000.0", "string_type")
    ]
    assert invalid.issues[0].message.render("id") == "Harus berupa teks"
    assert [(i.field, i.code) for i in not_object.issues] == [("", "model_type")]


def test_ndjson_invalid_utf8_names_its_line(tmp_path: Path) -> None:
    text = json.dumps(household()) + "\n" + json.dumps(household(address="D@sun")) + "\n"
    path = write(tmp_path, text.encode().replace(b"D@sun", b"D\xe9sun"), "import.ndjson")
    found = problem(path, format="ndjson")
    assert (found.code, found.row) == ("encoding_invalid", 2)


def test_the_garbage_collector_is_left_as_it_was(tmp_path: Path) -> None:
    assert gc.isenabled()
    path = write(tmp_path, csv_text(*(household() for _ in range(3))))
    batches = raw_batches(path, ImportOptions("csv"), families_per_batch=1)
    first = next(batches)
    assert gc.isenabled()  # the consumer works with the collector on
    validate_batch(first)
    batches.close()  # an import abandoned halfway
    assert gc.isenabled()
    lines = csv_text(household(address="Dusun")).splitlines()
    lines[2] = lines[2].replace("Dusun", '"Dusun', 1)
    problem(write(tmp_path, "\n".join(lines), "broken.csv"))
    assert gc.isenabled()
    gc.disable()
    try:
        read(path)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_semicolon_template(tmp_path: Path) -> None:
    record = only(read(write(tmp_path, layout.template_csv(";"))))
    assert record.household is not None and record.issues == []


def test_an_endless_family_is_cut_and_refused(tmp_path: Path) -> None:
    payload = household()
    payload["members"] = [
        member(relationship="kepala_keluarga"),
        *(
            member(name=f"Anak {i}", relationship="anak", birth_date=date(2010, 1, 1))
            for i in range(69)
        ),
    ]
    batches = list(raw_batches(write(tmp_path, csv_text(payload)), ImportOptions("csv")))
    families = [f for b in batches for f in b.families]
    assert [len(f) for f in families] == [64, 6]  # memory stays bounded
    first, rest = (r for b in batches for r in validate_batch(b))
    assert first.household is None
    assert [(i.row, i.field, i.code) for i in first.issues] == [(2, "kk_number", "too_long")]
    assert first.issues[0].message.render("id") == "Terlalu banyak (maksimal 30 butir)"
    assert rest.kk_number == first.kk_number  # reported again by the runner across families


def test_ndjson_overlong_line_is_a_row_error(tmp_path: Path) -> None:
    long = json.dumps(household(address="x" * (1 << 20)))
    text = "\n".join([long, json.dumps(household())]) + "\n"
    records = read(write(tmp_path, text, "import.ndjson"), format="ndjson")
    assert [(r.first_row, [i.code for i in r.issues]) for r in records] == [
        (1, ["line_too_long"]),
        (2, []),
    ]
