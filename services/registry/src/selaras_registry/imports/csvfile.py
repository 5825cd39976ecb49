"""Streaming a CSV or NDJSON file into raw batches of families, and the file-level problems
(encoding, header, separator, broken quoting) found on the way."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from selaras_registry.imports import layout
from selaras_registry.imports.records import FileProblem, ImportOptions, RawBatch
from selaras_shared.i18n import Text

#: Longest NDJSON line kept (one household with 30 members is a few kilobytes).
MAX_LINE = 1 << 20
#: Rows of one KK number kept together; a family has at most 30 members, so more is an error
#: of the family and the rest of the run starts a new family (bounding memory).
MAX_FAMILY_ROWS = 64

_ENCODINGS = {"utf-8": "utf-8-sig", "cp1252": "cp1252", "iso8859-1": "iso8859-1"}
_SEPARATORS = {",": "koma", ";": "titik koma", "\t": "tab"}


def codec(encoding: str) -> str:
    """The Python codec for an accepted `encoding` option (utf-8, windows-1252, iso-8859-1)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name = ""
    if name not in _ENCODINGS:
        raise FileProblem(
            "encoding_unsupported",
            Text(
                "Encoding {encoding} tidak didukung; gunakan utf-8, windows-1252 atau iso-8859-1",
                "Encoding {encoding} is not supported; use utf-8, windows-1252 or iso-8859-1",
                {"encoding": encoding},
            ),
        )
    return _ENCODINGS[name]


def _open(path: Path, options: ImportOptions) -> tuple[BinaryIO, io.TextIOWrapper]:
    encoding = codec(options.encoding)
    binary = path.open("rb")
    return binary, io.TextIOWrapper(binary, encoding=encoding, newline="")


def _bad_bytes(path: Path, options: ImportOptions, delimiter: str | None) -> FileProblem:
    """Find the first row with bytes that are not in the file's encoding (an error path only:
    the file is read again line by line, each line decoded on its own, which is exact for
    UTF-8 and the single-byte encodings since none has a newline byte inside a character)."""
    encoding = codec(options.encoding)
    bad_line, bad_byte = 0, 0
    with path.open("rb") as raw:
        decoder = codecs.getincrementaldecoder(encoding)()
        number = 0
        for number, line in enumerate(raw, 1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as error:
                bad_line, bad_byte = number, line[error.start]
                break
        else:
            try:  # a character cut off by the end of the file
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as error:
                bad_line, bad_byte = number, error.object[error.start]
    row = bad_line
    if delimiter is not None and bad_line > 1:
        # Latin-1 keeps every byte as one character, so the CSV structure (ASCII) is intact.
        with path.open("rb") as raw:
            reader = csv.reader((line.decode("latin-1") for line in raw), delimiter=delimiter)
            row = 0
            try:
                for row, _ in enumerate(reader, 1):  # noqa: B007 - row is the answer
                    if reader.line_num >= bad_line:
                        break
            except csv.Error:
                row += 1
    return FileProblem(
        "encoding_invalid",
        Text(
            "Baris {row} berisi karakter yang bukan {encoding} (byte 0x{byte:02X}); simpan "
            'ulang sebagai "CSV UTF-8" atau kirim dengan encoding=windows-1252',
            "Row {row} has characters that are not {encoding} (byte 0x{byte:02X}); save the "
            'file again as "CSV UTF-8" or send it with encoding=windows-1252',
            {"row": row, "encoding": options.encoding, "byte": bad_byte},
        ),
        row=row or None,
    )


def _wrong_separator(found: str) -> FileProblem:
    return FileProblem(
        "wrong_separator",
        Text(
            "Pemisah kolom salah: judul kolom terbaca sebagai satu kolom ({found}); gunakan "
            "koma atau titik koma",
            "Wrong separator: the header reads as a single column ({found}); separate columns "
            "with commas or semicolons",
            {"found": found[:80]},
        ),
        row=1,
    )


def header(line: str, requested: str | None) -> tuple[str, tuple[str, ...]]:
    """The separator and the canonical column names of a header line, or a FileProblem."""
    line = line.rstrip("\r\n")
    if not line.strip():
        raise FileProblem(
            "header_missing",
            Text("Berkas kosong atau baris judul kosong", "The file or its header row is empty"),
            row=1,
        )
    delimiter = requested or max(_SEPARATORS, key=line.count)
    names = next(csv.reader([line], delimiter=delimiter))
    if len(names) == 1 and layout.canonical(names[0]) is None:
        raise _wrong_separator(names[0])
    columns: list[str] = []
    unknown: list[str] = []
    for name in names:
        if not name.strip():
            columns.append("")  # Excel's empty trailing columns carry nothing
            continue
        column = layout.canonical(name)
        if column is None:
            unknown.append(name.strip())
        columns.append(column or "")
    problems: list[tuple[str, str, str, list[str]]] = []
    if unknown:
        problems.append(("unknown_columns", "tidak dikenal", "unknown", unknown))
    doubled = sorted({c for c in columns if c and columns.count(c) > 1})
    if doubled:
        problems.append(("duplicate_columns", "ganda", "given twice", doubled))
    missing = [c for c in layout.REQUIRED if c not in columns]
    if missing:
        problems.append(("missing_columns", "wajib tidak ada", "required but missing", missing))
    if problems:
        code = problems[0][0] if len(problems) == 1 else "columns_invalid"
        id_ = "; ".join(f"kolom {what}: {', '.join(names)}" for _, what, _, names in problems)
        en = "; ".join(f"columns {what}: {', '.join(names)}" for _, _, what, names in problems)
        raise FileProblem(code, Text(id_[0].upper() + id_[1:], en[0].upper() + en[1:]), row=1)
    return delimiter, tuple(columns)


def _broken_quote(row: int, detail: str) -> FileProblem:
    return FileProblem(
        "broken_quote",
        Text(
            'Tanda kutip pada baris {row} tidak ditutup ({detail}); periksa tanda " di baris itu',
            'A quote opened in row {row} is not closed ({detail}); check the " in that row',
            {"row": row, "detail": detail},
        ),
        row=row,
    )


def csv_batches(path: Path, options: ImportOptions, families_per_batch: int) -> Iterator[RawBatch]:
    """Stream a CSV file as batches of families (consecutive rows of one KK number)."""
    binary, text = _open(path, options)
    delimiter: str | None = None
    with binary, text:
        try:
            delimiter, columns = header(text.readline(), options.delimiter)
            yield from _rows(binary, text, delimiter, columns, families_per_batch)
        except UnicodeDecodeError:
            raise _bad_bytes(path, options, delimiter) from None


def _rows(
    binary: BinaryIO,
    text: io.TextIOWrapper,
    delimiter: str,
    columns: tuple[str, ...],
    families_per_batch: int,
) -> Iterator[RawBatch]:
    kk = columns.index("kk_number")
    # A newline inside a cell is fine (Excel's Alt+Enter); a newline followed by most of a
    # row's separators is a quote left open that swallowed the next line.
    swallowed = max(2, len(columns) // 2)
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    families: list[list[tuple[int, list[str]]]] = []
    family: list[tuple[int, list[str]]] = []
    key: str | None = None
    row = 1
    lines = reader.line_num
    try:
        for cells in reader:
            row += 1
            if reader.line_num - lines > 1:
                for cell in cells:
                    if "\n" in cell and cell.split("\n", 1)[1].count(delimiter) >= swallowed:
                        raise _broken_quote(row, "newline")
            lines = reader.line_num
            if not any(cells):
                continue  # blank row
            cell = cells[kk].strip() if kk < len(cells) else ""
            if cell != key or not cell or len(family) >= MAX_FAMILY_ROWS:
                if family:
                    families.append(family)
                    if len(families) >= families_per_batch:
                        yield RawBatch(families, binary.tell(), "csv", columns, row - 2)
                        families = []
                family = []
                key = cell
            family.append((row, cells))
    except csv.Error as error:
        raise _broken_quote(row + 1, str(error)) from None
    if family:
        families.append(family)
    if families:
        yield RawBatch(families, binary.tell(), "csv", columns, row - 1)


def ndjson_batches(
    path: Path, options: ImportOptions, families_per_batch: int
) -> Iterator[RawBatch]:
    """Stream an NDJSON file as batches of one-line families (each line one household)."""
    binary, text = _open(path, options)
    with binary, text:
        families: list[list[tuple[int, list[str]]]] = []
        number = 0
        try:
            while line := text.readline(MAX_LINE):
                number += 1
                if len(line) == MAX_LINE and not line.endswith("\n"):
                    while (rest := text.readline(MAX_LINE)) and not rest.endswith("\n"):
                        pass  # skip the rest of an overlong line without holding it
                    families.append([(number, [line[:200], "line_too_long"])])
                elif line.strip():
                    families.append([(number, [line])])
                if len(families) >= families_per_batch:
                    yield RawBatch(families, binary.tell(), "ndjson", (), number)
                    families = []
        except UnicodeDecodeError:
            raise _bad_bytes(path, options, None) from None
        if families:
            yield RawBatch(families, binary.tell(), "ndjson", (), number)


def count_lines(path: Path) -> int:
    """Lines in the file (a final line without a newline counts), by a byte scan."""
    lines, last = 0, b"\n"
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")
