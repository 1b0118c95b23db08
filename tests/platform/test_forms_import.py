"""Importing ODK/Kobo submissions as field records: a good file imports, the same file again
adds nothing, a file with one bad row (unknown farmer QR code, GPS point outside the farmer's
district, negative quantity) writes nothing and reports that row; an agronomist imports only
in their villages."""

from __future__ import annotations

import itertools
import json
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from alianza.fieldforms.forms import FormName
from alianza.fieldforms.geo import BoundingBox, DistrictArea
from alianza.fieldforms.submissions import parse_json_export, read_export
from alianza.platform.access import Actor, act_as
from alianza.platform.db import Database
from alianza.platform.fieldrecords.imports import (
    Outcome,
    SubmissionImportReport,
    import_submissions,
)
from alianza.platform.fieldrecords.models import FieldSubmission, FieldVisit, Harvest, ProduceSale
from alianza.platform.kits import service as kits
from alianza.platform.kits.models import KitSale, SupplierStock
from alianza.platform.ledger import service as ledger
from alianza.platform.ledger.models import Posting
from alianza.platform.registry import service as registry
from alianza.platform.registry.cards import farmer_code
from alianza.problems import Message
from tests.platform.mi_fixtures import PRICES, MIWorld, build_mi_world, sale

# Dedza district, Malawi: roughly 33.9-34.6 E, 14.6-13.9 S.
DEDZA = DistrictArea(bounding_box=BoundingBox(west=33.9, south=-14.6, east=34.6, north=-13.9))
AREAS = {"Dedza": DEDZA}
IN_DEDZA = "-14.3779 34.3331 1590 5"
IN_LILONGWE = "-13.9626 33.7741 1050 5"
EXAMPLES = itertools.count()  # a fresh instance ID per hypothesis example


@pytest.fixture
def mi(session: Session, admin: Actor) -> MIWorld:
    return build_mi_world(session, admin)


def _qr(world: MIWorld, index: int = 0, farmers: str = "farmers") -> str:
    farmer = getattr(world, farmers)[index]
    return "alianza:farmer:" + farmer_code(world.admin.programme().code, farmer.id)


def harvest_row(world: MIWorld, n: int, quantity: str = "12.5", **extra: Any) -> dict[str, Any]:
    return {
        "harvest_date": "2025-03-04",
        "site/village": "Chimbiya",
        "farmer_qr": _qr(world, n % len(world.farmers)),
        "site/location": IN_DEDZA,
        "meta/instanceID": f"uuid:harvest-{n}",
        "_submission_time": "2025-03-04T10:00:00",
        "products": [
            {
                "products/kit": "drip_bed",
                "products/quantity": quantity,
                "products/grade": "a",
                "products/quantity_sold": "10",
                "products/price": "350",
                "products/buyer": "local_market",
            }
        ],
    } | extra


def inspection_row(world: MIWorld, n: int, location: str = IN_DEDZA, **extra: Any) -> dict:
    return {
        "inspection_date": "2025-02-11",
        "site/village": "Chimbiya",
        "farmer_qr": _qr(world, n % len(world.farmers)),
        "site/location": location,
        "kit": "drip_bed",
        "kit_condition": "in_use",
        "units_seen": "1",
        "photo": f"site-{n}.jpg",
        "meta/instanceID": f"uuid:inspection-{n}",
    } | extra


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (FieldVisit, Harvest, ProduceSale, FieldSubmission)
    )


def test_a_good_file_imports_and_the_same_file_again_adds_nothing(
    mi: MIWorld, session: Session, tmp_path: Path
) -> None:
    export = tmp_path / "harvests.json"
    export.write_text(json.dumps({"results": [harvest_row(mi, n) for n in range(3)]}))
    report = import_submissions(mi.admin, read_export(export, "harvest"), AREAS)
    assert report.written
    assert [row.outcome for row in report.rows] == [Outcome.IMPORTED] * 3
    session.commit()
    assert _counts(session) == (0, 3, 3, 3)
    harvest = session.scalars(select(Harvest).order_by(Harvest.id)).first()
    assert harvest is not None and harvest.quantity == Decimal("12.5")
    sale = session.scalars(select(ProduceSale).order_by(ProduceSale.id)).first()
    assert sale is not None
    assert (sale.unit_price, sale.amount, sale.buyer) == (
        Decimal("350.00"),
        Decimal("3500.00"),
        "local_market",
    )

    again = import_submissions(mi.admin, read_export(export, "harvest"), AREAS)
    assert again.written
    assert [row.outcome for row in again.rows] == [Outcome.SKIPPED_DUPLICATE] * 3
    session.commit()
    assert _counts(session) == (0, 3, 3, 3)


@pytest.mark.parametrize(
    ("bad", "field", "code"),
    [
        ({"farmer_qr": "alianza:farmer:PA-HN-F999-1"}, "rows[2].farmer_qr", "unknown_farmer"),
        ({"site/location": IN_LILONGWE}, "rows[2].location", "outside_district"),
        (
            {
                "products": [
                    {"products/kit": "drip_bed", "products/quantity": "-3", "products/grade": "a"}
                ]
            },
            "rows[2].products[1].quantity",
            "invalid",
        ),
    ],  # fmt: skip
    ids=["unknown QR code", "GPS outside the district", "negative quantity"],
)
def test_a_file_with_one_bad_row_writes_nothing_and_reports_it(
    mi: MIWorld, session: Session, bad: dict[str, Any], field: str, code: str
) -> None:
    rows = [harvest_row(mi, 0), harvest_row(mi, 1, **bad), harvest_row(mi, 2)]
    parsed = parse_json_export(rows, "harvest")
    before = _counts(session)
    report = import_submissions(mi.admin, parsed, AREAS)
    session.commit()
    assert not report.written
    assert _counts(session) == before
    outcomes = {row.row: row.outcome for row in report.rows}
    assert outcomes == {1: Outcome.IMPORTED, 2: Outcome.REFUSED, 3: Outcome.IMPORTED}
    refused = next(row for row in report.rows if row.row == 2)
    assert [(p.field, p.code) for p in refused.problems] == [(field, code)]
    assert refused.problems[0].message


def test_inspections_record_photo_gps_and_farmer(mi: MIWorld, session: Session) -> None:
    parsed = parse_json_export([inspection_row(mi, 0)], "inspection")
    report = import_submissions(mi.admin, parsed, AREAS)
    session.commit()
    assert report.written
    visit = session.scalars(select(FieldVisit)).one()
    assert (visit.kind, visit.farmer_id, visit.photo_ref) == (
        "inspection",
        mi.farmers[0].id,
        "site-0.jpg",
    )
    assert (visit.latitude, visit.longitude) == (-14.3779, 34.3331)


def test_without_an_area_the_gps_point_is_not_checked_and_the_report_says_so(
    mi: MIWorld, session: Session
) -> None:
    parsed = parse_json_export([inspection_row(mi, 0, location=IN_LILONGWE)], "inspection")
    report = import_submissions(mi.admin, parsed, {})
    assert report.written
    assert report.rows[0].notes == ["GPS point not checked: district Dedza has no area"]


def test_a_farmer_of_another_village_is_refused(mi: MIWorld, session: Session) -> None:
    row = inspection_row(mi, 0, farmer_qr=_qr(mi, 0, "other_farmers"))
    report = import_submissions(mi.admin, parse_json_export([row], "inspection"), AREAS)
    assert not report.written
    assert report.rows[0].problems[0].code == "farmer_of_the_village"


def test_an_agronomist_imports_only_in_their_villages(mi: MIWorld, session: Session) -> None:
    mine = inspection_row(mi, 0)
    theirs = inspection_row(
        mi, 1, **{"site/village": "Mayani", "farmer_qr": _qr(mi, 0, "other_farmers")}
    )
    parsed = parse_json_export([mine, theirs], "inspection")
    report = import_submissions(mi.agronomist_actor, parsed, AREAS)
    session.commit()
    assert not report.written
    assert [row.outcome for row in report.rows] == [Outcome.IMPORTED, Outcome.REFUSED]
    problem = report.rows[1].problems[0]
    assert (problem.field, problem.code) == ("rows[2].farmer_qr", "not_found")
    assert mi.other_farmers[0].name not in problem.message  # not named outside the scope
    assert _counts(session) == (0, 0, 0, 0)
    alone = import_submissions(mi.agronomist_actor, parse_json_export([mine], "inspection"), AREAS)
    session.commit()
    assert alone.written and _counts(session) == (1, 0, 0, 1)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(st.sampled_from(["good", "bad"]), min_size=1, max_size=5),
    repeats=st.integers(1, 3),
)
def test_imports_are_all_or_nothing_and_idempotent(
    mi: MIWorld, session: Session, rows: list[str], repeats: int
) -> None:
    """Whatever the mix of rows: a file with a bad row writes nothing; a good file writes
    one submission per row however often it is imported."""
    prefix = f"example-{next(EXAMPLES)}"
    submissions = [
        inspection_row(
            mi,
            n,
            location=IN_DEDZA if kind == "good" else IN_LILONGWE,
            **{"meta/instanceID": f"uuid:{prefix}-{n}"},
        )
        for n, kind in enumerate(rows)
    ]
    before = _counts(session)
    for _ in range(repeats):
        report = import_submissions(mi.admin, parse_json_export(submissions, "inspection"), AREAS)
        session.commit()
        assert report.written == ("bad" not in rows)
    added = len(rows) if "bad" not in rows else 0
    assert _counts(session) == (before[0] + added, before[1], before[2], before[3] + added)


def test_cli_imports_and_exits_1_when_a_row_is_refused(
    mi: MIWorld, session: Session, database_url: str, tmp_path: Path
) -> None:
    from alianza.cli import app

    area_file = tmp_path / "programme.yaml"
    area_file.write_text(
        json.dumps(
            {
                "programme": "PA-HN",
                "districts": [
                    {
                        "id": "Dedza",
                        "name": "Dedza",
                        "area": {"bounding_box": DEDZA.bounding_box.model_dump()},  # type: ignore[union-attr]
                    }
                ],
                "villages": [{"id": "Chimbiya", "name": "Chimbiya", "district": "Dedza"}],
                "kits": [{"id": "drip_bed", "name": "Drip bed", "product": "veg"}],
                "products": [{"id": "veg", "name": "Vegetables"}],
            }
        )
    )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([inspection_row(mi, 0), inspection_row(mi, 1, location=IN_LILONGWE)]))
    good = tmp_path / "good.json"
    good.write_text(json.dumps([inspection_row(mi, 0)]))
    url = session.get_bind().url.render_as_string(hide_password=False)  # type: ignore[union-attr]
    common = ["--form", "inspection", "--programme", "PA-HN", "--as", "ana", "--url", url,
              "--programme-data", str(area_file)]  # fmt: skip
    session.commit()
    session.close()  # SQLite: the command's session writes while this one waits
    runner = CliRunner()
    refused = runner.invoke(app, ["forms", "import", str(bad), *common])
    assert refused.exit_code == 1, refused.output
    assert "outside the district Dedza" in refused.output
    assert "nothing written" in refused.output
    session.expire_all()
    assert _counts(session) == (0, 0, 0, 0)
    session.close()
    imported = runner.invoke(app, ["forms", "import", str(good), *common])
    assert imported.exit_code == 0, imported.output
    again = runner.invoke(app, ["forms", "import", str(good), *common])
    assert again.exit_code == 0 and "1 already imported" in again.output
    session.expire_all()
    assert _counts(session) == (1, 0, 0, 1)


def kit_sale_row(world: MIWorld, n: int, kit: str = "drip_bed", **extra: Any) -> dict[str, Any]:
    return {
        "sale_date": "2025-03-05",
        "site/village": "Chimbiya",
        "farmer_qr": _qr(world, n % len(world.farmers)),
        "kit": kit,
        "units": "1",
        "amount": PRICES[kit],
        "payment_method": "cash",
        "meta/instanceID": f"uuid:kit-sale-{n}-{kit}",
    } | extra


def _stock(session: Session, world: MIWorld, kit: str) -> int:
    return session.scalar(
        select(SupplierStock.quantity).where(
            SupplierStock.supplier_id == world.supplier.id, SupplierStock.kit_code == kit
        )
    )


def test_kit_sales_are_imported_as_sales_record_them(mi: MIWorld, session: Session) -> None:
    """Three sales of one file, by the agronomist: cash (paid, with the commission), mobile
    money (pending, its account number from its id), and a kit whose prerequisite the farmer
    buys earlier in the same file; stock taken, the ledger balanced, and the sale equal to
    the one `alianza sales record` makes."""
    rows = [
        kit_sale_row(mi, 0, supplier="agro_inputs_dedza"),  # named by its choice name
        kit_sale_row(mi, 1, payment_method="mobile_money", transaction_id="TX9"),
        kit_sale_row(mi, 0, "drip_beds_3"),  # drip_bed, its prerequisite, is row 1's
    ]
    stock_before = _stock(session, mi, "drip_bed")
    report = import_submissions(mi.agronomist_actor, parse_json_export(rows, "kit_sale"), AREAS)
    session.commit()
    assert report.written, [r.problems for r in report.rows]
    assert _stock(session, mi, "drip_bed") == stock_before - 2
    sold = list(session.scalars(select(KitSale).order_by(KitSale.id)))
    assert [(s.kit_code, s.method, s.status) for s in sold] == [
        ("drip_bed", "cash", "paid"), ("drip_bed", "mobile_money", "pending"),
        ("drip_beds_3", "cash", "paid"),
    ]  # fmt: skip
    assert all(s.reference == kits.sale_reference(s.id) for s in sold)
    # 5% commission, rounded half-even to cents: 17,500 -> 875.00; 47,250 -> 2,362.50
    assert [s.commission for s in sold] == [
        Decimal("875.00"),
        Decimal("875.00"),
        Decimal("2362.50"),
    ]
    balances = {b.name: b.balance for b in ledger.balances(mi.admin)}
    assert balances["Kit sales (MWK)"] == Decimal("17500.00") - 875 + Decimal("47250.00") - Decimal(
        "2362.50"
    )
    assert balances["Kit buyers (MWK)"] == -(Decimal("17500.00") + Decimal("47250.00"))
    assert set(ledger.totals_by_currency(mi.admin).values()) == {Decimal("0.00")}
    # the same sale through the service: the same price, amount, commission and posting
    direct = sale(mi, mi.farmers[2])
    session.commit()
    first = sold[0]
    assert (first.unit_price, first.amount, first.commission, first.catalogue_id) == (
        direct.unit_price, direct.amount, direct.commission, direct.catalogue_id,
    )  # fmt: skip
    legs = lambda s: sorted(  # noqa: E731
        e.amount for e in session.get(Posting, s.sale_posting_id).entries
    )
    assert legs(first) == legs(direct)
    again = import_submissions(mi.agronomist_actor, parse_json_export(rows, "kit_sale"), AREAS)
    assert [row.outcome for row in again.rows] == [Outcome.SKIPPED_DUPLICATE] * 3


@pytest.mark.parametrize(
    ("bad", "field", "code"),
    [
        ({"kit": "poultry_unit", "amount": PRICES["poultry_unit"]}, "rows[2].kit", "kit_prerequisites"),
        ({"supplier": "nobody_we_know"}, "rows[2].supplier", "unknown_supplier"),
        ({"amount": "15000"}, "rows[2].amount", "kit_price"),
        ({"units": "60"}, "rows[2].units", "units_per_farmer"),
    ],
    ids=["missing prerequisite", "unknown supplier", "amount off the price", "too many units"],
)  # fmt: skip
def test_a_refused_kit_sale_keeps_the_whole_file_out(
    mi: MIWorld, session: Session, bad: dict[str, Any], field: str, code: str
) -> None:
    rows = [kit_sale_row(mi, 0), kit_sale_row(mi, 1, **bad)]
    stock_before = _stock(session, mi, "drip_bed")
    report = import_submissions(mi.admin, parse_json_export(rows, "kit_sale"), AREAS)
    session.commit()
    assert not report.written
    refused = next(row for row in report.rows if row.outcome == Outcome.REFUSED)
    assert [(p.field, p.code) for p in refused.problems] == [(field, code)]
    assert refused.problems[0].message
    assert session.scalar(select(func.count(KitSale.id))) == 0
    assert session.scalar(select(func.count(Posting.id))) == 0
    assert _stock(session, mi, "drip_bed") == stock_before
    assert _counts(session) == (0, 0, 0, 0)


def test_a_kit_sale_without_a_supplier_needs_the_districts_only_one(
    mi: MIWorld, session: Session
) -> None:
    second = registry.add_organization(mi.admin, {"kind": "supplier", "name": "Dedza Agro Shop"})
    kits.receive_stock(
        mi.admin,
        {"supplier_id": second.id, "district_id": mi.district.id, "kit_code": "drip_bed",
         "quantity": 5},
    )  # fmt: skip
    session.commit()
    report = import_submissions(mi.admin, parse_json_export([kit_sale_row(mi, 0)], "kit_sale"))
    assert not report.written
    problem = report.rows[0].problems[0]
    assert (problem.field, problem.code) == ("rows[1].supplier", "supplier_of_the_district")
    assert "2 suppliers hold kits in Dedza" in problem.message
    named = kit_sale_row(mi, 0, supplier="Dedza Agro Shop")  # its name works as well
    assert import_submissions(mi.admin, parse_json_export([named], "kit_sale")).written
    session.commit()
    assert session.scalars(select(KitSale)).one().supplier_id == second.id


def test_a_refused_rows_problem_is_a_message_said_in_the_readers_language(
    mi: MIWorld, session: Session
) -> None:
    """The report keeps the refusal as a Message (its template and values), so that the web
    says it in the reader's language, its amounts written for the locale."""
    report = import_submissions(
        mi.admin, parse_json_export([kit_sale_row(mi, 0, amount="15000")], "kit_sale"), AREAS
    )
    message = report.rows[0].problems[0].message
    assert isinstance(message, Message)
    assert message.startswith("15,000.00 MWK written down; 1 x drip_bed cost 17,500.00 MWK")
    spanish = message.say("es", lambda template: template)
    assert spanish.startswith("15.000,00 MWK written down; 1 x drip_bed cost 17.500,00 MWK")


def _wait_until_waiting(database: Database, backend: str, second: threading.Thread) -> None:
    """Wait until the second import waits for the first's transaction (PostgreSQL: a session of
    the test's database waits on a lock; SQLite: its BEGIN IMMEDIATE waits on the write lock,
    which no query shows, so a moment's pause)."""
    if backend != "postgresql":
        time.sleep(0.3)
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 30
    # autocommit: a transaction would read pg_stat_activity once, and see no change after
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        while second.is_alive() and not connection.scalar(waiting):
            assert time.monotonic() < deadline, "the second import never waited for the first"
            time.sleep(0.02)


@pytest.mark.parametrize("form", ["harvest", "kit_sale"])
def test_two_imports_of_one_file_at_once_write_it_once(
    database: Database, backend: str, mi: MIWorld, session: Session, form: FormName
) -> None:
    """Two sessions import the same export at once: the second checks the file while the
    first's writes are not committed yet (it sees no submission of it), then waits for them.
    It reports the rows skipped, as it would have had it started after the first; nothing is
    written twice, and no database error escapes. A harvest file's second import waits on the
    submissions' unique key; a kit-sale file's on the stock's lock, here exactly the file's
    units (a check that saw the stock taken but not the submissions would refuse the file)."""
    if form == "kit_sale":
        rows = [kit_sale_row(mi, n) for n in range(2)]
        session.execute(
            update(SupplierStock)
            .where(
                SupplierStock.supplier_id == mi.supplier.id, SupplierStock.kit_code == "drip_bed"
            )
            .values(quantity=len(rows))
        )
        session.commit()
    else:
        rows = [harvest_row(mi, n) for n in range(3)]
    first = import_submissions(mi.admin, parse_json_export(rows, form), AREAS)
    outcome: list[SubmissionImportReport | Exception] = []

    def import_again() -> None:
        with database.sessions() as other:
            try:
                actor = act_as(other, mi.admin.user_id, mi.admin.programme_id)
                outcome.append(import_submissions(actor, parse_json_export(rows, form), AREAS))
                other.commit()
            except Exception as error:
                outcome.append(error)

    second_import = threading.Thread(target=import_again)
    second_import.start()
    _wait_until_waiting(database, backend, second_import)
    session.commit()
    second_import.join(timeout=60)
    assert not second_import.is_alive()
    (second,) = outcome
    assert isinstance(second, SubmissionImportReport), repr(second)
    assert (first.written, first.imported) == (True, len(rows))
    assert (second.written, second.imported, second.skipped) == (True, 0, len(rows))
    session.expire_all()
    assert session.scalar(select(func.count(FieldSubmission.id))) == len(rows)
    if form == "kit_sale":
        assert session.scalar(select(func.count(KitSale.id))) == len(rows)
        assert _stock(session, mi, "drip_bed") == 0
    else:
        assert _counts(session) == (0, 3, 3, 3)
