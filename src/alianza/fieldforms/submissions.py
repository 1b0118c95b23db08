"""Read the field forms' submissions as KoboToolbox and ODK Central export them.

Supported exports (see docs/micro-investing.md, "Field forms"):

- **Kobo JSON** (``/api/v2/assets/<uid>/data.json``, or its ``results`` list): one object per
  submission, fields named by their group path (``site/village``), ``meta/instanceID`` and
  ``_uuid``, ``_id``, ``_submission_time``, ``_submitted_by``; a repeat is an array of objects
  whose keys carry the repeat's path (``products/quantity``).
- **Kobo CSV** (``;`` or ``,`` separated, "include groups" with the ``/`` separator, or XML
  names without groups): one row per submission; a repeat is a second CSV (Kobo's XLS export
  has one sheet per repeat) whose ``_parent_index`` is the main row's ``_index``.
- **ODK Central CSV** (the ZIP Central downloads, or its files): ``SubmissionDate``, fields
  named ``site-village``, geopoints split in ``-Latitude``, ``-Longitude``, ``-Altitude``,
  ``-Accuracy``, ``KEY`` (the instance ID); each repeat in ``<form>-<repeat>.csv`` with
  ``PARENT_KEY`` (its submission's KEY) and ``KEY`` (``uuid:.../products[2]``).
- **ODK Central JSON** (OData ``value`` list, groups as nested objects, geopoints as GeoJSON).

Every submission becomes a typed record of `alianza.fieldforms.records`; a bad one becomes
`Problem`s whose field is ``rows[n].field`` (``rows[n].products[i].field`` in a repeat), n and
i counted from 1 in file order. Nothing is returned half-parsed: the caller gets all records
and all problems, and `ParsedExport.raise_for_problems` refuses the whole file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from alianza.fieldforms.forms import HARVEST_REPEAT, FormName
from alianza.fieldforms.records import RECORD_TYPES, AnyRecord
from alianza.problems import Problem, ProblemError

GEO_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")
# Field names of the form that the record calls otherwise.
RECORD_NAMES = {"farmer_qr": "farmer_id"}
FORM_NAMES = {value: key for key, value in RECORD_NAMES.items()}
METADATA_FIELDS = {"start", "end", "today", "deviceid", "username"}
REPEATS: dict[str, tuple[str, ...]] = {"harvest": (HARVEST_REPEAT,)}
CENTRAL_SYSTEM_COLUMNS = {
    "SubmissionDate",
    "KEY",
    "PARENT_KEY",
    "SubmitterID",
    "SubmitterName",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "Status",
    "ReviewState",
    "DeviceID",
    "Edits",
    "FormVersion",
}
_REPEAT_POSITION = re.compile(r"\[(\d+)\]$")


@dataclass
class RawSubmission:
    """One submission before typing: fields by their name in the form, repeats as lists."""

    row: int
    values: dict[str, Any]
    repeats: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    instance_id: str | None = None
    submitted_at: str | None = None
    submitted_by: str | None = None
    key: str | None = None  # what a repeat file's rows name their submission by


@dataclass
class ParsedExport:
    """The records of one export file and the problems of its bad submissions."""

    form: FormName
    source: str
    records: list[AnyRecord]
    problems: list[Problem]

    def raise_for_problems(self) -> None:
        """Refuse the whole file (ProblemError listing every problem) if any row is bad."""
        if self.problems:
            raise ProblemError(self.source, self.problems)


def leaf_name(column: str, separator: str) -> str:
    """The form's field name of an export column: its last path segment."""
    return column.rsplit(separator, 1)[-1]


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if type(value) is str:
        return not value or value.isspace()
    return isinstance(value, float) and math.isnan(value)


# -- JSON -------------------------------------------------------------------------------------


def parse_json_export(document: Any, form: FormName, source: str = "export") -> ParsedExport:
    """Kobo's JSON (a list, or ``{"results": [...]}``) or Central's OData (``{"value": [...]}``)."""
    if isinstance(document, Mapping):
        rows = document.get("results", document.get("value"))
    else:
        rows = document
    if not isinstance(rows, list):
        raise ProblemError(source, [Problem("(file)", "no list of submissions (results/value)")])
    raw = []
    problems = []
    for index, item in enumerate(rows, start=1):
        if not isinstance(item, Mapping):
            problems.append(Problem(f"rows[{index}]", "not an object"))
            continue
        raw.append(_json_submission(index, item, form))
    return _typed(raw, form, source, problems)


def _json_submission(row: int, item: Mapping[str, Any], form: FormName) -> RawSubmission:
    flat: dict[str, Any] = {}
    repeats: dict[str, list[dict[str, Any]]] = {}
    _flatten(item, "", flat, repeats)
    values = {}
    system = {}
    for key, value in flat.items():
        name = leaf_name(key, "/")
        if key.startswith("_") or key.startswith("__"):
            system[key] = value
        elif key in ("meta/instanceID", "meta/deprecatedID", "formhub/uuid") or key.startswith(
            ("meta/", "formhub/", "__system/")
        ):
            system[key] = value
        else:
            values[name] = value
    instance = flat.get("meta/instanceID") or flat.get("__id")
    if _blank(instance) and not _blank(system.get("_uuid")):
        instance = f"uuid:{system['_uuid']}"
    return RawSubmission(
        row=row,
        values=values,
        repeats={
            leaf_name(name, "/"): [
                {leaf_name(k, "/"): v for k, v in entry.items()} for entry in entries
            ]
            for name, entries in repeats.items()
        },
        instance_id=None if _blank(instance) else str(instance),
        submitted_at=_text(system.get("_submission_time") or flat.get("__system/submissionDate")),
        submitted_by=_text(system.get("_submitted_by") or flat.get("__system/submitterName")),
    )


def _flatten(
    item: Mapping[str, Any],
    prefix: str,
    flat: dict[str, Any],
    repeats: dict[str, list[dict[str, Any]]],
) -> None:
    """Kobo's keys are paths already; Central's groups are nested objects: both end as paths."""
    for key, value in item.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if value.get("type") == "Point" and "coordinates" in value:
                flat[path] = _geojson_point(value)
            else:
                _flatten(value, path + "/", flat, repeats)
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            entries = []
            for entry in value:
                inner: dict[str, Any] = {}
                _flatten(entry, "", inner, {})
                entries.append(inner)
            repeats[path] = entries
        else:
            flat[path] = value


def _geojson_point(value: Mapping[str, Any]) -> str:
    """A GeoJSON Point ([lon, lat, alt], accuracy in properties) as ODK's text."""
    coordinates = list(value.get("coordinates") or [])
    accuracy = (value.get("properties") or {}).get("accuracy")
    if len(coordinates) < 2:
        return "malformed"
    parts = [coordinates[1], coordinates[0], *coordinates[2:3]]
    if accuracy is not None:
        parts += [0.0] * (3 - len(parts)) + [accuracy]
    return " ".join(str(p) for p in parts)


def _text(value: Any) -> str | None:
    return None if _blank(value) else str(value)


# -- CSV --------------------------------------------------------------------------------------


def read_csv_rows(text: str) -> list[dict[str, str]]:
    """Rows of a CSV export as dicts; the separator (comma, semicolon or tab) is detected."""
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def is_central(columns: Iterable[str]) -> bool:
    names = set(columns)
    return "KEY" in names and ("SubmissionDate" in names or "PARENT_KEY" in names)


def parse_csv_export(
    main: str,
    form: FormName,
    repeats: Mapping[str, str] | None = None,
    source: str = "export",
) -> ParsedExport:
    """A CSV export: the main file's text and each repeat's file text by repeat name."""
    rows = read_csv_rows(main)
    columns = list(rows[0].keys()) if rows else []
    central = is_central(columns)
    plan = (_central_plan if central else _kobo_plan)(columns)
    row_of = _central_row if central else _kobo_row
    submissions = [row_of(index, row, plan) for index, row in enumerate(rows, start=1)]
    problems: list[Problem] = []
    for name, text in (repeats or {}).items():
        problems += _attach_repeat(submissions, name, read_csv_rows(text), central)
    return _typed(submissions, form, source, problems)


# A column plan, made once per file: (column, field name, geopoint part or None) for every
# column that holds a field of the form.
ColumnPlan = list[tuple[str, str, str | None]]
KOBO_GEO_PARTS = ("latitude", "longitude", "altitude", "precision")


def _kobo_plan(columns: Iterable[str]) -> ColumnPlan:
    plan: ColumnPlan = []
    for column in columns:
        if column is None:
            continue
        if column.startswith("_"):
            # Kobo's split geopoint columns: _<path>_latitude, _longitude, _altitude, _precision
            for part in KOBO_GEO_PARTS:
                if column.endswith(f"_{part}"):
                    plan.append((column, leaf_name(column[1 : -len(part) - 1], "/"), part))
            continue
        if column.startswith(("meta/", "formhub/")) or column in ("instanceID", "__version__"):
            continue
        plan.append((column, leaf_name(column, "/"), None))
    return plan


def _kobo_row(row_number: int, row: Mapping[str, str], plan: ColumnPlan) -> RawSubmission:
    values: dict[str, Any] = {}
    split_geo: dict[str, dict[str, str]] = {}
    for column, name, part in plan:
        if part is None:
            values[name] = row.get(column)
        else:
            split_geo.setdefault(name, {})[part] = row.get(column) or ""
    for name, parts in split_geo.items():
        if _blank(values.get(name)) and not _blank(parts.get("latitude")):
            values[name] = " ".join(parts.get(p) or "0" for p in KOBO_GEO_PARTS)
    instance = row.get("meta/instanceID") or row.get("instanceID")
    if _blank(instance) and not _blank(row.get("_uuid")):
        instance = f"uuid:{row['_uuid']}"
    return RawSubmission(
        row=row_number,
        values=values,
        instance_id=_text(instance),
        submitted_at=_text(row.get("_submission_time")),
        submitted_by=_text(row.get("_submitted_by")),
        key=_text(row.get("_index")),
    )


def _central_plan(columns: Iterable[str]) -> ColumnPlan:
    plan: ColumnPlan = []
    for column in columns:
        if column is None or column in CENTRAL_SYSTEM_COLUMNS or column.startswith("meta-"):
            continue
        head, _, tail = column.rpartition("-")
        if head and tail in GEO_PARTS:
            plan.append((column, leaf_name(head, "-"), tail))
        else:
            plan.append((column, leaf_name(column, "-"), None))
    return plan


def _central_row(row_number: int, row: Mapping[str, str], plan: ColumnPlan) -> RawSubmission:
    values: dict[str, Any] = {}
    geo: dict[str, dict[str, str]] = {}
    for column, name, part in plan:
        if part is None:
            values[name] = row.get(column)
        else:
            geo.setdefault(name, {})[part] = row.get(column) or ""
    for name, parts in geo.items():
        present = [not _blank(parts.get(p)) for p in GEO_PARTS]
        if not any(present):
            values[name] = None
        elif not (present[0] and present[1]):
            values[name] = "latitude or longitude missing"
        else:
            values[name] = " ".join(parts.get(p) or "" for p in GEO_PARTS).strip()
    instance = row.get("meta-instanceID") or row.get("KEY")
    return RawSubmission(
        row=row_number,
        values=values,
        instance_id=_text(instance),
        submitted_at=_text(row.get("SubmissionDate")),
        submitted_by=_text(row.get("SubmitterName")),
        key=_text(row.get("KEY")),
    )


def _attach_repeat(
    submissions: list[RawSubmission],
    repeat: str,
    rows: list[dict[str, str]],
    central: bool,
) -> list[Problem]:
    """Attach the rows of a repeat's CSV to their submissions (by KEY or by _index)."""
    key_column = "PARENT_KEY" if central else "_parent_index"
    parent_of = {s.key: s for s in submissions if s.key is not None}
    separator = "-" if central else "/"
    fields = [
        (column, leaf_name(column, separator))
        for column in (rows[0].keys() if rows else [])
        if column is not None
        and column not in CENTRAL_SYSTEM_COLUMNS
        and not column.startswith("_")
    ]
    problems = []
    for line, row in enumerate(rows, start=2):
        parent = parent_of.get(str(row.get(key_column)))
        if parent is None:
            problems.append(
                Problem(
                    f"{repeat} file line {line}.{key_column}",
                    f"no submission {row.get(key_column)!r} in the main file",
                )
            )
            continue
        entry: dict[str, Any] = {name: row.get(column) for column, name in fields}
        position = _REPEAT_POSITION.search(row.get("KEY") or "") if central else None
        entries = parent.repeats.setdefault(repeat, [])
        entry["__position__"] = int(position.group(1)) if position else len(entries) + 1
        entries.append(entry)
    for submission in submissions:
        attached = submission.repeats.get(repeat) or []
        attached.sort(key=lambda e: e["__position__"])
        for entry in attached:
            entry.pop("__position__")
    return problems


# -- typing -----------------------------------------------------------------------------------


def _typed(
    submissions: list[RawSubmission], form: FormName, source: str, problems: list[Problem]
) -> ParsedExport:
    model = RECORD_TYPES[form]
    records: list[AnyRecord] = []
    first_row_of: dict[str, int] = {}
    for submission in submissions:
        prefix = f"rows[{submission.row}]"
        if submission.instance_id is None:
            problems.append(
                Problem(f"{prefix}.meta/instanceID", "missing instance ID", code="missing")
            )
            continue
        if submission.instance_id in first_row_of:
            problems.append(
                Problem(
                    f"{prefix}.meta/instanceID",
                    f"instance ID {submission.instance_id} is also row "
                    f"{first_row_of[submission.instance_id]}",
                    code="duplicate",
                )
            )
            continue
        first_row_of[submission.instance_id] = submission.row
        data = _record_data(submission, form)
        try:
            records.append(model.model_validate(data))  # type: ignore[arg-type]
        except ValidationError as error:
            problems += [_problem(prefix, item) for item in error.errors()]
    return ParsedExport(form, source, records, problems)


def _record_data(submission: RawSubmission, form: FormName) -> dict[str, Any]:
    values = {
        RECORD_NAMES.get(name, name): None if _blank(value) else value
        for name, value in submission.values.items()
        if not name.startswith("__") and name not in METADATA_FIELDS
    }
    allowed = set(RECORD_TYPES[form].model_fields)
    data: dict[str, Any] = {k: v for k, v in values.items() if k in allowed}
    data.update(
        form=form,
        row=submission.row,
        instance_id=submission.instance_id,
        submitted_at=submission.submitted_at,
        started_at=_text(submission.values.get("start")),
        ended_at=_text(submission.values.get("end")),
        recorded_by=_text(submission.values.get("username")) or submission.submitted_by,
        device_id=_text(submission.values.get("deviceid")),
    )
    for repeat in REPEATS.get(form, ()):
        data[repeat] = [
            {k: None if _blank(v) else v for k, v in entry.items() if not k.startswith("__")}
            for entry in submission.repeats.get(repeat, [])
        ]
    return {k: v for k, v in data.items() if v is not None}


def _problem(prefix: str, item: Any) -> Problem:
    path = prefix
    for part in item["loc"]:
        if isinstance(part, int):
            path += f"[{part + 1}]"  # repeats are counted from 1, as ODK's KEY does
        else:
            path += "." + FORM_NAMES.get(str(part), str(part))
    message = str(item["msg"]).removeprefix("Value error, ")
    if message.startswith("Input should be greater than or equal to"):
        message = "must be >= " + message.rsplit(" ", 1)[-1]
    elif message == "Field required":
        message = "missing"
    elif ": " in message and message.split(": ", 1)[0].isidentifier():
        # A record-level rule that names its field: move the name into the path.
        name, message = message.split(": ", 1)
        path += "." + name
    value = item.get("input")
    if item["type"] not in ("missing", "value_error") and isinstance(value, str | int | float):
        message += f" (got {value!r})"
    return Problem(path, message, code="missing" if item["type"] == "missing" else "invalid")


# -- files ------------------------------------------------------------------------------------


def read_export(path: str | Path, form: FormName) -> ParsedExport:
    """Read an export file: ``.json``, a Central ``.zip``, or a main ``.csv`` whose repeats
    sit beside it as ``<stem>-<repeat>.csv``."""
    file_path = Path(path)
    source = str(file_path)
    suffix = file_path.suffix.lower()
    if suffix == ".json":
        try:
            document = json.loads(file_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ProblemError(source, [Problem("(file)", f"not valid JSON: {error}")]) from None
        return parse_json_export(document, form, source)
    if suffix == ".zip":
        with zipfile.ZipFile(file_path) as archive:
            texts = {
                Path(name).name: archive.read(name).decode("utf-8")
                for name in archive.namelist()
                if name.lower().endswith(".csv")
            }
        return _parse_csv_files(texts, form, source)
    texts = {file_path.name: file_path.read_text(encoding="utf-8")}
    for repeat in REPEATS.get(form, ()):
        sibling = file_path.with_name(f"{file_path.stem}-{repeat}.csv")
        if sibling.exists():
            texts[sibling.name] = sibling.read_text(encoding="utf-8")
    return _parse_csv_files(texts, form, source, main_name=file_path.name)


def _parse_csv_files(
    texts: Mapping[str, str], form: FormName, source: str, main_name: str | None = None
) -> ParsedExport:
    repeats: dict[str, str] = {}
    main = None
    for name, text in texts.items():
        repeat = next((r for r in REPEATS.get(form, ()) if name.endswith(f"-{r}.csv")), None)
        if repeat is not None and name != main_name:
            repeats[repeat] = text
        elif main is None:
            main = text
    if main is None:
        raise ProblemError(source, [Problem("(file)", "no submissions CSV in it")])
    return parse_csv_export(main, form, repeats, source)


def read_export_bytes(name: str, content: bytes, form: FormName) -> ParsedExport:
    """An uploaded export (``.json``, ``.zip`` or a ``.csv`` without repeat files), read as
    `read_export` reads a file of that name."""
    suffix = Path(name).suffix.lower()
    if suffix not in (".json", ".zip", ".csv"):
        raise ProblemError(name, [Problem("file", "give a .json, .csv or .zip export")])
    source = Path(name).name or f"export{suffix}"
    if suffix == ".json":
        try:
            document = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ProblemError(source, [Problem("(file)", f"not valid JSON: {error}")]) from None
        return parse_json_export(document, form, source)
    try:
        if suffix == ".zip":
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                texts = {
                    Path(entry).name: archive.read(entry).decode("utf-8")
                    for entry in archive.namelist()
                    if entry.lower().endswith(".csv")
                }
            return _parse_csv_files(texts, form, source)
        return _parse_csv_files({source: content.decode("utf-8")}, form, source, source)
    except (UnicodeDecodeError, zipfile.BadZipFile) as error:
        raise ProblemError(source, [Problem("(file)", f"cannot be read: {error}")]) from None
