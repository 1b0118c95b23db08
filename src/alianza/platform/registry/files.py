"""Reading and writing registry tables (CSV, XLSX) as people have them, safely.

Reading: UTF-8 with or without a byte-order mark, UTF-16 and UTF-32 (with a BOM, or UTF-16
without one when its NUL bytes show it), else Windows-1252 (which reads Latin-1 text too); any
other bytes are refused with the line they are on. The delimiter is the one of ``,`` ``;`` and
tab that the header line uses most. Every header must be a known column (or a Kobo/ODK metadata
column, ignored); unknown and repeated headers are refused with the nearest known name. Cells
longer than :data:`MAX_CELL_CHARS`, rows longer than :data:`MAX_ROW_CHARS` and text holding NUL
or other control characters are refused. Problems carry the file's own row numbers (the
header is row 1, as a spreadsheet shows it).

Writing: a text cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``,
``-``, ``@``, tab or carriage return: OWASP's CSV-injection rule) is written with a leading
single quote, as is one that starts with a quote; reading takes that quote off again, so an
export imports back to the same text.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from alianza.platform.errors import Refused
from alianza.problems import INVALID, Message, Problem

MAX_FILE_BYTES = 64 * 2**20
MAX_CELL_CHARS = 1_000
MAX_ROW_CHARS = 10_000
MAX_COLUMNS = 200

# Cells a spreadsheet evaluates (OWASP, CSV injection); a leading quote makes them text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTED = tuple("'" + start for start in (*FORMULA_STARTS, "'"))
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Columns KoboToolbox and ODK add to every export (besides those starting with "_").
FORM_METADATA = frozenset({
    "start", "end", "today", "deviceid", "subscriberid", "simserial", "username", "instanceid",
    "instancename", "audit", "uuid", "version", "formhub_uuid",
})  # fmt: skip

HEADER_ALIASES = {
    "full_name": "name", "farmer_name": "name", "nombre": "name",
    "gender": "sex", "sexo": "sex",
    "year_of_birth": "birth_year", "birthyear": "birth_year",
    "indigenous": "minority", "minority_status": "minority", "indigena": "minority",
    "hh_size": "household_size", "household_members": "household_size",
    "land_ha": "land_hectares", "land_size_ha": "land_hectares", "land": "land_hectares",
    "phone_number": "phone", "mobile": "phone", "telefono": "phone",
    "id_number": "national_id", "nid": "national_id", "national_id_number": "national_id",
    "epa": "municipality", "extension_planning_area": "municipality", "municipio": "municipality",
    "aldea": "village", "comunidad": "village",
    "po": "organization", "organizations": "organization", "group": "organization",
    "organization_kind": "kind", "type": "kind",
    "farmer_national_id": "national_id", "farmer_phone": "phone",
    "joined": "joined_on", "date_joined": "joined_on",
}  # fmt: skip

# Problem codes of imports, besides alianza.problems.INVALID.
ENCODING = "encoding"
UNKNOWN_COLUMN = "unknown_column"
DUPLICATE_COLUMN = "duplicate_column"
MISSING_COLUMN = "missing_column"
TOO_LONG = "too_long"
CONTROL = "control_character"
NOT_FOUND = "not_found"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class RowProblem(Problem):
    """A problem of one row of a file (``row`` as the spreadsheet numbers it; None: the file)."""

    row: int | None = None

    def __str__(self) -> str:
        return str(self.said())

    def said(self) -> str:
        """The problem as a line of a report: ``row 3: sex: must be female or male``, said in
        the reader's language (its message too)."""
        if self.row is not None and self.field:
            return Message(
                "row %(row)s: %(field)s: %(message)s",
                row=self.row,
                field=self.field,
                message=self.message,
            )
        if self.row is not None:
            return Message("row %(row)s: %(message)s", row=self.row, message=self.message)
        if self.field:
            return Message("%(field)s: %(message)s", field=self.field, message=self.message)
        return self.message

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "row": self.row}


def row_problem(row: int | None, field: str, message: str, code: str = INVALID) -> RowProblem:
    return RowProblem(field=field, message=message, code=code, row=row)


class FileRefused(Refused):
    """A file that cannot be read at all (format, encoding, size)."""

    def __init__(self, problem: RowProblem) -> None:
        super().__init__(problem.said(), rule="readable import file", field=problem.field or None)
        self.problem = problem


@dataclass
class Table:
    """The rows of a file as ``(row number, {column: text})``, and what was wrong with it."""

    encoding: str
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    rows_read: int = 0  # non-empty rows, the ones too long to judge included
    problems: list[RowProblem] = field(default_factory=list)


# --- headers -----------------------------------------------------------------------------------


def header_key(header: object) -> str:
    """A Kobo/ODK column header as a field name: ``group_farmer/Phone Number`` -> ``phone``."""
    text = str(header or "").strip()
    text = text.split("/")[-1].split(":")[-1]
    key = "_".join(text.lower().replace("-", "_").split())
    if key.endswith("_latitude"):
        return "latitude"
    if key.endswith("_longitude"):
        return "longitude"
    return HEADER_ALIASES.get(key, key)


def nearest_column(key: str, known: Collection[str]) -> str | None:
    """The known column (or the column of a known alias) closest to ``key``, if any is close."""
    names = {name: name for name in known}
    names.update({alias: name for alias, name in HEADER_ALIASES.items() if name in known})
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
    return names[close[0]] if close else None


def resolve_headers(
    headers: Sequence[str], known: Collection[str], what: str
) -> tuple[list[str | None], list[RowProblem]]:
    """Each header as its column name (None: ignored or blank) and the header's problems."""
    columns: list[str | None] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for index, header in enumerate(headers):
        problems.extend(_text_problems(1, header or f"column {index + 1}", header))
        key = header_key(header)
        if not key or key.startswith("_") or key in FORM_METADATA:
            columns.append(None)
            continue
        if key not in known:
            problems.append(
                row_problem(
                    1,
                    header,
                    _not_a_column(what, nearest_column(key, known), known),
                    UNKNOWN_COLUMN,
                )
            )
            columns.append(None)
            continue
        if key in seen:
            first = seen[key]
            problems.append(row_problem(
                1, header, Message(
                    "column %(column)s is '%(key)s' again (column %(first)s is '%(header)s'): "
                    "keep one", column=index + 1, key=key, first=first + 1, header=headers[first],
                ), DUPLICATE_COLUMN,
            ))  # fmt: skip
            columns.append(None)
            continue
        seen[key] = index
        columns.append(key)
    return columns, problems


def _not_a_column(what: str, nearest: str | None, known: Collection[str]) -> Message:
    """Why a header is refused, and the column meant or the columns there are (a whole sentence
    for each kind of import, so that a translator has it whole)."""
    columns = str(sorted(known))
    if what == "farmers":
        if nearest:
            return Message(
                "not a column of a farmers import; did you mean '%(nearest)s'?", nearest=nearest
            )
        return Message(
            "not a column of a farmers import; the columns are %(columns)s", columns=columns
        )
    if what == "organizations":
        if nearest:
            return Message(
                "not a column of an organizations import; did you mean '%(nearest)s'?",
                nearest=nearest,
            )
        return Message(
            "not a column of an organizations import; the columns are %(columns)s", columns=columns
        )
    if what == "memberships":
        if nearest:
            return Message(
                "not a column of a memberships import; did you mean '%(nearest)s'?",
                nearest=nearest,
            )
        return Message(
            "not a column of a memberships import; the columns are %(columns)s", columns=columns
        )
    if nearest:
        return Message(
            "not a column of a %(what)s import; did you mean '%(nearest)s'?",
            what=what,
            nearest=nearest,
        )
    return Message(
        "not a column of a %(what)s import; the columns are %(columns)s", what=what, columns=columns
    )


# --- cells ---------------------------------------------------------------------------------------


def cell_text(value: object) -> str:
    """A cell as text: spreadsheets' floats of whole numbers as integers, dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # spreadsheets turn phone numbers and years into floats
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def inert(cell: Any) -> Any:
    """A text cell a spreadsheet will not run as a formula (leading quote; see the module)."""
    if isinstance(cell, str) and (cell.startswith(FORMULA_STARTS) or cell.startswith("'")):
        return "'" + cell
    return cell


def uninert(text: str) -> str:
    """The text :func:`inert` was given: its leading quote taken off where it added one."""
    return text[1:] if text.startswith(QUOTED) else text


def _text_problems(row: int | None, column: str, text: str) -> list[RowProblem]:
    problems = []
    if len(text) > MAX_CELL_CHARS:
        problems.append(row_problem(
            row, column, Message(
                "%(length)s characters, more than the %(limit)s a cell may hold",
                length=len(text), limit=MAX_CELL_CHARS,
            ), TOO_LONG,
        ))  # fmt: skip
    if found := CONTROL_CHARACTER.search(text):
        problems.append(row_problem(
            row, column, Message(
                "holds a control character (U+%(code)s) at position %(position)s: text may not",
                code=format(ord(found.group()), "04X"), position=found.start() + 1,
            ), CONTROL,
        ))  # fmt: skip
    return problems


# --- files ---------------------------------------------------------------------------------------


def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding name) of a CSV file's bytes, or FileRefused saying why not."""
    for bom, codec, name in (
        (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
        (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
        (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with BOM"),
        (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
        (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
    ):
        if raw.startswith(bom):
            return _decode_as(raw, codec, name), name
    if raw.startswith(b"PK\x03\x04"):
        raise FileRefused(row_problem(
            None, "", Message(
                "this is an XLSX workbook (a zip file) named .csv: name it .xlsx, or save it as "
                "CSV UTF-8"
            ), ENCODING,
        ))  # fmt: skip
    head = raw[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd > len(head) // 4 and even == 0:
        return _decode_as(raw, "utf-16-le", "UTF-16"), "UTF-16 (little-endian, no BOM)"
    if even > len(head) // 4 and odd == 0:
        return _decode_as(raw, "utf-16-be", "UTF-16"), "UTF-16 (big-endian, no BOM)"
    if even + odd > len(head) // 10:
        raise FileRefused(row_problem(
            None, "", Message(
                "this is not a text CSV file (it is full of NUL bytes): save it as CSV UTF-8"
            ), ENCODING,
        ))  # fmt: skip
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    return _decode_as(raw, "cp1252", "Windows-1252 (or Latin-1)"), "Windows-1252 (or Latin-1)"


def _decode_as(raw: bytes, codec: str, name: str) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise FileRefused(row_problem(
            None, "", Message(
                "line %(line)s: byte 0x%(byte)s is not %(encoding)s text; the file is neither "
                "UTF-8, UTF-16 nor Windows-1252/Latin-1: save it as CSV UTF-8",
                line=line, byte=format(raw[error.start], "02X"), encoding=name,
            ), ENCODING,
        )) from None  # fmt: skip


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=header.count)


def _csv_records(path: Path) -> tuple[str, Iterable[tuple[int, list[Any]]], list[RowProblem]]:
    text, encoding = decode(path.read_bytes())
    problems: list[RowProblem] = []

    def records() -> Iterable[tuple[int, list[Any]]]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
        number = 0
        try:
            for number, record in enumerate(reader, start=1):  # noqa: B007 - kept for the error
                yield number, record
        except csv.Error as error:
            problems.append(row_problem(
                number + 1, "", Message(
                    "cannot be read (%(error)s): is a quote left open? Nothing after this row "
                    "was read", error=str(error),
                ), TOO_LONG,
            ))  # fmt: skip

    return encoding, records(), problems


def _xlsx_records(path: Path) -> tuple[str, Iterable[tuple[int, list[Any]]], list[RowProblem]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError, OSError) as error:
        raise FileRefused(
            row_problem(
                None,
                "",
                Message("not a readable XLSX workbook (%(error)s)", error=str(error)),
                ENCODING,
            )
        ) from None
    try:
        records = [
            (n, list(r))
            for n, r in enumerate(workbook.worksheets[0].iter_rows(values_only=True), 1)
        ]
    finally:
        workbook.close()
    return "XLSX", records, []


def read_table(
    path: Path, known: Collection[str], what: str, required: Mapping[str, str] | None = None
) -> Table:
    """The rows of a .csv or .xlsx file whose columns are ``known`` (see the module).

    ``required`` maps a column to the reason it must be there. Header problems stop the reading
    (every row would be wrong); any other problem is the row's, each row read to its end.
    Raises FileRefused for a file that cannot be read at all.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        if suffix == ".xls":
            raise FileRefused(row_problem(None, "", Message(
                "%(file)s: give a .csv or .xlsx file (save an .xls workbook as .xlsx)",
                file=path.name,
            )))  # fmt: skip
        raise FileRefused(
            row_problem(None, "", Message("%(file)s: give a .csv or .xlsx file", file=path.name))
        )
    if path.stat().st_size > MAX_FILE_BYTES:
        raise FileRefused(row_problem(
            None, "", Message(
                "%(file)s is larger than %(limit)s MiB: split it",
                file=path.name, limit=MAX_FILE_BYTES // 2**20,
            ), TOO_LONG,
        ))  # fmt: skip
    encoding, records, late_problems = (_csv_records if suffix == ".csv" else _xlsx_records)(path)
    iterator = iter(records)
    for _number, first in iterator:
        headers = [cell_text(h) for h in first]
        break
    else:
        raise FileRefused(
            row_problem(None, "", Message("%(file)s is empty: give a header row", file=path.name))
        )
    while headers and not headers[-1]:
        headers.pop()
    table = Table(encoding=encoding, columns=[])
    if len(headers) > MAX_COLUMNS:
        table.problems.append(row_problem(1, "", Message(
            "%(count)s columns, more than %(limit)s", count=len(headers), limit=MAX_COLUMNS
        ), TOO_LONG))  # fmt: skip
        return table
    columns, table.problems = resolve_headers(headers, known, what)
    for column, reason in (required or {}).items():
        if column not in columns:
            table.problems.append(
                row_problem(
                    1, column, Message("missing column: %(reason)s", reason=reason), MISSING_COLUMN
                )
            )
    table.columns = [c for c in columns if c]
    if table.problems:
        return table
    for number, values in iterator:
        cells = [cell_text(v) for v in values]
        if not any(cells):
            continue
        table.rows_read += 1
        row = _row(number, headers, columns, cells, table.problems)
        if row is not None:  # None: too long to judge its values
            table.rows.append((number, row))
    table.problems.extend(late_problems)
    return table


def _row(
    number: int, headers: list[str], columns: list[str | None], cells: list[str],
    problems: list[RowProblem],
) -> dict[str, str] | None:  # fmt: skip
    row: dict[str, str] = {}
    if sum(len(c) for c in cells) > MAX_ROW_CHARS:
        problems.append(row_problem(
            number, "", Message(
                "%(length)s characters, more than the %(limit)s a row may hold",
                length=sum(len(c) for c in cells), limit=MAX_ROW_CHARS,
            ), TOO_LONG,
        ))  # fmt: skip
        return None
    extra = [c for c in cells[len(columns) :] if c]
    if extra:
        problems.append(row_problem(
            number, "", Message(
                "%(count)s or more values, but the header names %(columns)s columns (first extra "
                "value: '%(value)s')",
                count=len(columns) + len(extra), columns=len(columns), value=extra[0][:40],
            ),
        ))  # fmt: skip
    for index, (column, text) in enumerate(zip(columns, cells, strict=False)):
        if column is None:
            if text and not headers[index]:
                problems.append(row_problem(
                    number, f"column {index + 1}",
                    Message("a value ('%(value)s') under no header", value=text[:40]),
                ))  # fmt: skip
            continue
        found = _text_problems(number, column, text)
        problems.extend(found)
        row[column] = "" if found else uninert(text)
    return row


def write_table(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write a header and rows to a .csv (UTF-8) or .xlsx file, every text cell inert, readable
    by its owner only (names, phones and national ids are personal data) and replaced only once
    complete."""
    from alianza.platform.backup.files import private_file

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with private_file(path) as raw:
            handle = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            writer = csv.writer(handle)
            writer.writerow([inert(c) for c in columns])
            writer.writerows([["" if c is None else inert(c) for c in row] for row in rows])
            handle.flush()
            handle.detach()  # private_file closes the file itself
    elif suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append([inert(c) for c in columns])
        for row in rows:
            sheet.append([inert(c) for c in row])
        with private_file(path) as raw:
            book.save(raw)
    else:
        raise Refused(Message("%(file)s: give a .csv or .xlsx file", file=path.name))
