"""`alianza forms build`: write the XLSForms and check each by converting it to an XForm.

pyxform (the converter ODK Central and KoboToolbox run on upload) turns each workbook into
the XForm XML the phones use; a form it refuses is never written as valid. Both files are
written: ``<form>.xlsx`` (to upload to Kobo or Central) and ``<form>.xml`` (what they would
make of it); all forms or none.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert

from alianza.fieldforms.forms import FORM_NAMES, FORMS, FormName, write_xlsform
from alianza.fieldforms.programme import ProgrammeData
from alianza.problems import Problem, ProblemError

XFORMS_NAMESPACE = "http://www.w3.org/2002/xforms"


@dataclass(frozen=True)
class BuiltForm:
    name: FormName
    form_id: str
    xlsform: Path
    xform: Path
    fields: int
    warnings: list[str]


def default_version() -> str:
    """A form version as ODK likes it: sortable, changes on every build (YYYYMMDDHHMM)."""
    return datetime.now(UTC).strftime("%Y%m%d%H%M")


def build_forms(
    data: ProgrammeData,
    out_dir: Path,
    forms: tuple[FormName, ...] = FORM_NAMES,
    version: str | None = None,
) -> list[BuiltForm]:
    """Write each form's XLSForm and XForm to out_dir; raise ProblemError if pyxform refuses
    one. The forms are built in a scratch folder and moved into out_dir only once all of them
    convert: a refused build leaves out_dir as it was."""
    out_dir.mkdir(parents=True, exist_ok=True)
    version = version or default_version()
    built = []
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".forms-") as scratch:
        for name in forms:
            form = FORMS[name]
            xlsform = Path(scratch) / f"{name}.xlsx"
            xform = Path(scratch) / f"{name}.xml"
            write_xlsform(form, data, xlsform, version)
            warnings: list[str] = []
            try:
                result = convert(xlsform=str(xlsform), warnings=warnings, pretty_print=True)
                fields = count_fields(result.xform)
            except (PyXFormError, ElementTree.ParseError) as error:
                raise ProblemError(
                    f"form {name}", [Problem(name, f"pyxform refused it: {error}")]
                ) from None
            xform.write_text(result.xform, encoding="utf-8")
            built.append(BuiltForm(name, form.form_id, xlsform, xform, fields, warnings))
        moved = []
        for item in built:
            targets = (out_dir / item.xlsform.name, out_dir / item.xform.name)
            os.replace(item.xlsform, targets[0])
            os.replace(item.xform, targets[1])
            moved.append(BuiltForm(item.name, item.form_id, *targets, item.fields, item.warnings))
    return moved


def count_fields(xform: str) -> int:
    """Number of bound fields in an XForm (its ``<bind>`` elements)."""
    root = ElementTree.fromstring(xform)
    return len(root.findall(f".//{{{XFORMS_NAMESPACE}}}bind"))
