"""The XLSForms: built from the programme's lists, accepted by pyxform, with the fields the
submission parser reads back."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from alianza.fieldforms.build import XFORMS_NAMESPACE, build_forms
from alianza.fieldforms.forms import FORM_NAMES
from alianza.fieldforms.programme import load_programme_data, validate_programme_data
from alianza.problems import ProblemError

ROOT = Path(__file__).resolve().parents[2]
PROGRAMME = ROOT / "examples" / "programme" / "dedza.yaml"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("forms")
    data = load_programme_data(PROGRAMME)
    return {form.name: form for form in build_forms(data, out, version="202503010000")}


def _binds(xform: Path) -> dict[str, dict[str, str]]:
    root = ElementTree.parse(xform).getroot()
    return {
        bind.attrib["nodeset"]: bind.attrib for bind in root.iter(f"{{{XFORMS_NAMESPACE}}}bind")
    }


def test_every_form_is_built_and_converts(built: dict[str, object]) -> None:
    assert set(built) == set(FORM_NAMES)
    for form in built.values():
        assert form.xlsform.exists() and form.xform.exists()  # type: ignore[attr-defined]
        # An independent second conversion of the written workbook gives the same XForm.
        again = convert(xlsform=str(form.xlsform), pretty_print=True).xform  # type: ignore[attr-defined]
        assert again == form.xform.read_text(encoding="utf-8")  # type: ignore[attr-defined]


def test_inspection_has_photo_gps_and_qr_scan(built: dict[str, object]) -> None:
    binds = _binds(built["inspection"].xform)  # type: ignore[attr-defined]
    assert binds["/data/photo"]["type"] == "binary"
    assert binds["/data/site/location"]["type"] == "geopoint"
    assert binds["/data/site/location"]["required"] == "true()"
    assert binds["/data/farmer_qr"]["type"] == "barcode"
    assert "instanceID" in "".join(binds)


def test_harvest_repeats_products_with_constraints(built: dict[str, object]) -> None:
    binds = _binds(built["harvest"].xform)  # type: ignore[attr-defined]
    for name in ("kit", "quantity", "grade", "quantity_sold", "price", "buyer"):
        assert f"/data/products/{name}" in binds
    assert binds["/data/products/quantity"]["constraint"] == ". >= 0"
    assert "${quantity}" not in binds["/data/products/quantity_sold"]["constraint"]  # resolved
    # inside a repeat, a reference is to the same repeat instance: a relative path
    assert binds["/data/products/price"]["relevant"].split() == ["../quantity_sold", ">", "0"]


def test_choice_lists_come_from_the_programme(built: dict[str, object]) -> None:
    workbook = load_workbook(built["kit_sale"].xlsform)  # type: ignore[attr-defined]
    rows = list(workbook["choices"].iter_rows(values_only=True))
    header = rows[0]
    by_list: dict[str, list[str]] = {}
    for row in rows[1:]:
        by_list.setdefault(row[0], []).append(row[1])
    assert by_list["villages"] == ["v_kanyama", "v_mphunzi", "v_chimbiya", "v_bilila"]
    assert "g_tiyanjane" in by_list["groups"]
    assert by_list["kits"][0] == "drip_bed"  # from the kit catalogue the programme names
    assert by_list["payment_methods"] == ["cash", "mobile_money", "prepayment"]
    # groups are filtered by the village chosen: a filter column in the choices sheet
    assert "village" in header
    xform = built["kit_sale"].xform.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    assert "village= /data/site/village" in xform


def test_labels_in_four_languages(built: dict[str, object]) -> None:
    root = ElementTree.parse(built["visit"].xform).getroot()  # type: ignore[attr-defined]
    languages = {t.attrib["lang"] for t in root.iter(f"{{{XFORMS_NAMESPACE}}}translation")}
    assert languages == {"English (en)", "Español (es)", "Français (fr)", "Português (pt)"}


def test_bad_programme_data_names_every_field() -> None:
    raw = {
        "programme": "P",
        "districts": [{"id": "d1", "name": "D1"}],
        "villages": [
            {"id": "v1", "name": "V1", "district": "nowhere"},
            {"id": "v 2", "name": "V2", "district": "d1"},
        ],
        "groups": [{"id": "g1", "name": "G", "village": "v9"}],
        "kits": [{"id": "k", "name": "K", "product": "p"}],
        "products": [{"id": "p", "name": "P"}, {"id": "p", "name": "P again"}],
    }
    with pytest.raises(ProblemError) as caught:
        validate_programme_data(raw, ROOT)
    fields = {p.field for p in caught.value.problems}
    assert fields == {"villages[1].id"}  # pattern failure: references are checked after
    raw["villages"][1]["id"] = "v2"
    with pytest.raises(ProblemError) as caught:
        validate_programme_data(raw, ROOT)
    messages = {str(p) for p in caught.value.problems}
    assert messages == {
        "villages[0].district: unknown district 'nowhere'",
        "groups[0].village: unknown village 'v9'",
        "products[1].id: duplicate id 'p'",
    }


def test_a_refused_form_leaves_the_folder_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from alianza.fieldforms import build as build_module
    from alianza.fieldforms.forms import FORMS, Row

    broken = replace(FORMS["harvest"], rows=[*FORMS["harvest"].rows, Row("begin_repeat", "x")])
    monkeypatch.setitem(build_module.FORMS, "harvest", broken)
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ProblemError, match="pyxform refused it"):
        build_forms(load_programme_data(PROGRAMME), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_a_kit_sale_names_a_supplier_of_the_villages_district(built: dict[str, object]) -> None:
    workbook = load_workbook(built["kit_sale"].xlsform)  # type: ignore[attr-defined]
    rows = list(workbook["choices"].iter_rows(values_only=True))
    header = rows[0]
    suppliers = {
        row[1]: row[header.index("districts")] for row in rows[1:] if row[0] == "suppliers"
    }
    assert suppliers == {"agro_inputs_dedza": "dedza", "ntcheu_farm_supplies": "ntcheu"}
    binds = _binds(built["kit_sale"].xform)  # type: ignore[attr-defined]
    # the village's district, read from the villages list, filters the suppliers shown
    assert binds["/data/district"]["calculate"] == (
        "instance('villages')/root/item[name =  /data/site/village ]/district"
    )
    assert "required" not in binds["/data/supplier"]  # empty: the district's only supplier
    xform = built["kit_sale"].xform.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    assert "selected(districts,  /data/district )" in xform


def test_without_suppliers_the_kit_sale_form_asks_for_none(tmp_path: Path) -> None:
    data = load_programme_data(PROGRAMME).model_copy(update={"suppliers": []})
    (form,) = build_forms(data, tmp_path, ("kit_sale",), version="202503010000")
    assert "/data/supplier" not in _binds(form.xform)


def test_a_supplier_of_an_unknown_district_is_named() -> None:
    raw = {
        "programme": "P",
        "districts": [{"id": "d1", "name": "D1"}],
        "villages": [{"id": "v1", "name": "V1", "district": "d1"}],
        "kits": [{"id": "k", "name": "K", "product": "p"}],
        "products": [{"id": "p", "name": "P"}],
        "suppliers": [{"id": "s1", "name": "S", "districts": ["d1", "d9"]}],
    }
    with pytest.raises(ProblemError) as caught:
        validate_programme_data(raw, ROOT)
    assert [(p.field, p.message) for p in caught.value.problems] == [
        ("suppliers[0].districts[1]", "unknown district 'd9'")
    ]
