"""Submissions as Kobo and ODK Central export them, parsed into typed records; bad rows are
problems with the row and field."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alianza.fieldforms.geo import GeoPoint
from alianza.fieldforms.records import HarvestRecord, farmer_id_from_qr
from alianza.fieldforms.submissions import (
    parse_csv_export,
    parse_json_export,
    read_export,
)
from alianza.problems import ProblemError

EXPORTS = Path(__file__).parent / "exports"


def test_kobo_json_with_repeats() -> None:
    parsed = read_export(EXPORTS / "kobo-harvest.json", "harvest")
    assert parsed.problems == []
    first = parsed.records[0]
    assert isinstance(first, HarvestRecord)
    assert first.instance_id == "uuid:6f1e2d3c-4b5a-4e6f-9a8b-7c6d5e4f3a21"
    assert first.farmer_id == "MW-DZ-000142"
    assert first.village == "v_kanyama"
    assert first.location == GeoPoint(-14.3781, 34.3329, 1602.4, 4.8)
    assert first.recorded_by == "agronomist.banda"
    assert first.harvest_date == date(2025, 3, 4)
    assert [line.kit for line in first.products] == ["drip_bed", "poultry_unit"]
    assert first.products[0].sale_value == pytest.approx(80 * 420)
    assert first.products[1].price is None
    assert parsed.records[2].location is None  # the GPS point is optional in a harvest


def test_kobo_csv_semicolons_and_group_paths() -> None:
    parsed = read_export(EXPORTS / "kobo-inspection.csv", "inspection")
    assert parsed.problems == []
    second = parsed.records[1]
    assert second.farmer_id == "MW-DZ-000305"  # a bare farmer ID typed in is accepted
    assert second.kit_condition == "needs_repair"  # type: ignore[union-attr]
    assert second.photo == "1739265101877.jpg"  # type: ignore[union-attr]
    assert second.location == GeoPoint(-14.2905, 34.2409, 1590.2, 5.0)


def test_kobo_csv_geopoint_from_split_columns_only(tmp_path: Path) -> None:
    text = (EXPORTS / "kobo-inspection.csv").read_text(encoding="utf-8")
    header, *rows = text.splitlines()
    columns = header.split(";")
    at = columns.index("site/location")
    trimmed = [
        ";".join(c for i, c in enumerate(line.split(";")) if i != at) for line in [header, *rows]
    ]
    parsed = parse_csv_export("\n".join(trimmed) + "\n", "inspection")
    assert parsed.problems == []
    assert parsed.records[0].location == GeoPoint(-14.3779, 34.3335, 1601.0, 3.9)


def test_central_csv_with_repeat_file_beside_it() -> None:
    parsed = read_export(EXPORTS / "central-harvest" / "harvest.csv", "harvest")
    assert parsed.problems == []
    first, second = parsed.records
    assert first.location == GeoPoint(-14.8112, 34.6025, 1245.3, 4.2)
    assert second.location is None  # empty split columns
    assert [(p.kit, p.quantity) for p in first.products] == [  # type: ignore[union-attr]
        ("drip_bed", 88.0),
        ("banana_plantlets", 9.0),
    ]
    assert second.products[0].grade == "b"  # type: ignore[union-attr]
    assert first.recorded_by == "agronomist.phiri"


def test_central_zip_gives_the_same_records(tmp_path: Path) -> None:
    archive = tmp_path / "alianza_harvest.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in ("harvest.csv", "harvest-products.csv"):
            zipped.write(EXPORTS / "central-harvest" / name, f"alianza_harvest/{name}")
    from_zip = read_export(archive, "harvest")
    from_files = read_export(EXPORTS / "central-harvest" / "harvest.csv", "harvest")
    assert from_zip.records == from_files.records


def test_repeat_rows_are_put_in_key_order(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(EXPORTS / "central-harvest", folder)
    repeat = folder / "harvest-products.csv"
    header, *rows = repeat.read_text(encoding="utf-8").splitlines()
    repeat.write_text("\n".join([header, *reversed(rows)]) + "\n", encoding="utf-8")
    parsed = read_export(folder / "harvest.csv", "harvest")
    assert [p.kit for p in parsed.records[0].products] == ["drip_bed", "banana_plantlets"]  # type: ignore[union-attr]


def test_repeat_row_without_its_submission_is_a_problem(tmp_path: Path) -> None:
    main = (EXPORTS / "central-harvest" / "harvest.csv").read_text(encoding="utf-8")
    repeat = "kit,quantity,grade,quantity_sold,PARENT_KEY,KEY\ndrip_bed,1,a,0,uuid:gone,uuid:gone/products[1]\n"
    parsed = parse_csv_export(main, "harvest", {"products": repeat})
    assert "products file line 2.PARENT_KEY: no submission 'uuid:gone' in the main file" in [
        str(p) for p in parsed.problems
    ]


def test_central_kit_sales_payment_details() -> None:
    parsed = read_export(EXPORTS / "central-kit-sale.csv", "kit_sale")
    assert parsed.problems == []
    methods = [(r.payment_method, r.transaction_id, r.prepaid_by) for r in parsed.records]  # type: ignore[union-attr]
    assert methods == [
        ("mobile_money", "TGH7K2M9QX", None),
        ("cash", None, None),
        ("prepayment", None, "lilongwe_fresh"),
    ]
    assert parsed.records[0].group == "g_tiyanjane"  # type: ignore[union-attr]


def test_bad_rows_are_reported_by_row_and_field() -> None:
    parsed = read_export(EXPORTS / "kobo-harvest-bad.json", "harvest")
    assert parsed.records == []  # every row of this file is bad
    assert [str(p) for p in parsed.problems] == [
        "rows[1].products[2].quantity: must be >= 0 (got '-12')",
        "rows[2].location: 'north of the borehole' is not a GPS point: not all numbers",
        "rows[3].meta/instanceID: missing instance ID",
        "rows[4].products[1].quantity_sold: 25 is more than the 20 harvested",
    ]
    with pytest.raises(ProblemError) as caught:
        parsed.raise_for_problems()
    assert len(caught.value.problems) == 4


def test_a_bad_row_among_good_ones_refuses_the_file() -> None:
    rows = json.loads((EXPORTS / "kobo-harvest.json").read_text(encoding="utf-8"))["results"]
    rows[1]["products"][0]["products/quantity"] = "-1"
    parsed = parse_json_export(rows, "harvest", "x.json")
    assert len(parsed.records) == 2
    with pytest.raises(ProblemError, match=r"rows\[2\]\.products\[1\]\.quantity"):
        parsed.raise_for_problems()


def test_duplicate_instance_id_in_one_file() -> None:
    rows = json.loads((EXPORTS / "kobo-harvest.json").read_text(encoding="utf-8"))["results"]
    parsed = parse_json_export([rows[0], rows[1], rows[0]], "harvest")
    assert [str(p) for p in parsed.problems] == [
        "rows[3].meta/instanceID: instance ID uuid:6f1e2d3c-4b5a-4e6f-9a8b-7c6d5e4f3a21 is also row 1"
    ]


def test_instance_id_falls_back_to_kobo_uuid() -> None:
    rows = json.loads((EXPORTS / "kobo-harvest.json").read_text(encoding="utf-8"))["results"]
    del rows[0]["meta/instanceID"]
    parsed = parse_json_export(rows[:1], "harvest")
    assert parsed.records[0].instance_id == "uuid:6f1e2d3c-4b5a-4e6f-9a8b-7c6d5e4f3a21"


def test_central_odata_json_nested_groups_and_geojson() -> None:
    document = {
        "value": [
            {
                "__id": "uuid:0d0d0d0d-1111-4222-8333-444455556666",
                "start": "2025-02-11T10:02:55.402+02:00",
                "inspection_date": "2025-02-11",
                "site": {
                    "village": "v_kanyama",
                    "location": {
                        "type": "Point",
                        "coordinates": [34.3335, -14.3779, 1601.0],
                        "properties": {"accuracy": 3.9},
                    },
                },
                "farmer_qr": "alianza:farmer:MW-DZ-000142",
                "kit": "drip_bed",
                "kit_condition": "in_use",
                "units_seen": 2,
                "photo": "1739261340212.jpg",
                "meta": {"instanceID": "uuid:0d0d0d0d-1111-4222-8333-444455556666"},
                "__system": {
                    "submissionDate": "2025-02-11T08:15:02.000Z",
                    "submitterName": "banda",
                },
            }
        ]
    }
    parsed = parse_json_export(document, "inspection")
    assert parsed.problems == []
    record = parsed.records[0]
    assert record.location == GeoPoint(-14.3779, 34.3335, 1601.0, 3.9)
    assert record.recorded_by == "banda"


def test_inspection_without_gps_or_photo_is_refused() -> None:
    rows = [
        {
            "inspection_date": "2025-02-11",
            "site/village": "v_kanyama",
            "farmer_qr": "not a card!",
            "kit": "drip_bed",
            "kit_condition": "broken",
            "units_seen": "1",
            "meta/instanceID": "uuid:1",
        }
    ]
    parsed = parse_json_export(rows, "inspection")
    assert {p.field for p in parsed.problems} == {
        "rows[1].location",
        "rows[1].photo",
        "rows[1].farmer_qr",
        "rows[1].kit_condition",
    }


@given(st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=30))
def test_qr_code_round_trip(farmer: str) -> None:
    if farmer.isascii() and farmer.isalnum():
        assert farmer_id_from_qr(f"alianza:farmer:{farmer}") == farmer
        assert farmer_id_from_qr(f"  {farmer} ") == farmer
    else:
        with pytest.raises(ValueError):
            farmer_id_from_qr(f"alianza:farmer:{farmer}")


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=6))
def test_negative_quantities_and_only_those_are_refused(quantities: list[float]) -> None:
    row = {
        "harvest_date": "2025-03-04",
        "site/village": "v_kanyama",
        "farmer_qr": "alianza:farmer:MW-DZ-000142",
        "meta/instanceID": "uuid:1",
        "products": [
            {"products/kit": "drip_bed", "products/quantity": str(q), "products/grade": "a"}
            for q in quantities
        ],
    }
    parsed = parse_json_export([row], "harvest")
    expected = [f"rows[1].products[{i}].quantity" for i, q in enumerate(quantities, 1) if q < 0]
    assert [p.field for p in parsed.problems] == expected
    assert len(parsed.records) == (0 if expected else 1)
    if not expected:
        assert [line.quantity for line in parsed.records[0].products] == quantities  # type: ignore[union-attr]


def test_kobo_csv_with_repeat_sheet_gives_the_json_records() -> None:
    """The same submissions exported as Kobo CSV (main sheet and repeat sheet, joined by
    _parent_index) and as Kobo JSON parse to the same records."""
    from_csv = read_export(EXPORTS / "kobo-harvest.csv", "harvest")
    from_json = read_export(EXPORTS / "kobo-harvest.json", "harvest")
    assert from_csv.problems == []
    assert from_csv.records == from_json.records[:2]
