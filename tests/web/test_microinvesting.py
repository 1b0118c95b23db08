"""The Micro Investing pages: rollout board, caseload and visit plan, a farmer's growth and
card, the payments review queue (a person matches a parked payment), for the manager, the
agronomist and the supplier."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alianza.platform.db import Database
from alianza.platform.fieldrecords import service as field
from alianza.platform.fieldrecords.models import FieldVisit
from alianza.platform.kits.models import KitSale
from alianza.platform.payments import service as payments
from alianza.platform.programmes.service import create_programme, create_user, grant_role
from alianza.platform.registry.cards import farmer_code
from alianza.platform.rollout import service as rollout
from alianza.settings import Settings
from alianza.web.app import create_app
from tests.platform.mi_fixtures import build_mi_world, sale


@pytest.fixture
def site(settings: Settings) -> dict[str, Any]:
    database = Database(settings.database_url)
    with database.session() as session:
        user = create_user(
            session, {"username": "ana", "display_name": "Ana", "password": "s3cret-pass"}
        )
        admin = create_programme(
            session, {"code": "PA-HN", "name": "MI", "reporting_currency": "USD"}, user
        )
        session.commit()
        mi = build_mi_world(session, admin)
        supplier = create_user(
            session, {"username": "supp", "display_name": "S", "password": "s3cret-pass"}
        )
        grant_role(admin, supplier.id, {"role": "supplier", "organization_id": mi.supplier.id})
        area = rollout.open_area(
            admin, {"place_id": mi.district.id, "phase_since": date(2025, 1, 1)}
        )
        rollout.add_milestone(admin, area.id, {"phase": "setup", "title": "Lead farmers found"})
        sale(mi, mi.farmers[0])
        pending = sale(mi, mi.farmers[1], method="mobile_money")
        field.record_produce_sale(
            mi.agronomist_actor,
            {"farmer_id": mi.farmers[0].id, "kit_code": "drip_bed", "sold_on": date(2025, 4, 1),
             "quantity": "20", "unit_price": "400", "buyer": "market"},
            "MWK",
        )  # fmt: skip
        parked = payments.receive(
            payments.intake_actor(session, "PA-HN"),
            {"provider": "airtel", "transaction_id": "Q1", "amount": str(pending.amount),
             "currency": "MWK", "phone": "+265999777666", "paid_at": "2025-03-03T10:00:00+00:00"},
        ).payment  # fmt: skip
        ids = {
            "area": area.id,
            "agronomist": mi.agronomist.id,
            "farmer": mi.farmers[0].id,
            "other_farmer": mi.other_farmers[0].id,
            "payment": parked.id,
            "sale": pending.id,
        }
    database.dispose()
    app = create_app(settings)
    clients = {}
    with TestClient(app, raise_server_exceptions=False) as anonymous:
        for name, username in (("manager", "ana"), ("agronomist", "agro"), ("supplier", "supp")):
            password = "s3cret-pass" if username != "agro" else "password1"
            token = anonymous.post(
                "/api/v1/auth/token", data={"username": username, "password": password}
            ).json()["access_token"]
            client = TestClient(app, raise_server_exceptions=False)
            client.headers["Authorization"] = f"Bearer {token}"
            clients[name] = client
    return {"clients": clients, "database_url": settings.database_url, **ids}


def test_the_rollout_board_shows_phase_adoption_and_team(site: dict[str, Any]) -> None:
    for who in ("manager", "agronomist", "supplier"):
        listing = site["clients"][who].get("/rollout")
        assert listing.status_code == 200 and "Dedza" in listing.text
    board = site["clients"]["manager"].get(f"/rollout/{site['area']}?as_of=2025-06-30")
    assert board.status_code == 200
    assert "Lead farmers found" in board.text and "Grace Banda" in board.text
    assert 'aria-current="step"' in board.text
    assert "My caseload" in site["clients"]["agronomist"].get("/rollout").text


def test_the_caseload_shows_the_visit_plan(site: dict[str, Any]) -> None:
    own = site["clients"]["agronomist"].get("/caseload", follow_redirects=False)
    assert own.status_code == 303 and own.headers["location"].endswith(
        f"/agronomists/{site['agronomist']}"
    )
    page = site["clients"]["agronomist"].get(f"/agronomists/{site['agronomist']}?as_of=2025-06-30")
    assert page.status_code == 200 and "Chimbiya VSLA" in page.text and "overdue" in page.text
    assert site["clients"]["supplier"].get(f"/agronomists/{site['agronomist']}").status_code == 404


def test_a_farmers_growth_page_charts_purchases_and_the_upgrade_path(site: dict[str, Any]) -> None:
    page = site["clients"]["agronomist"].get(f"/farmers/{site['farmer']}/growth?as_of=2025-06-30")
    assert page.status_code == 200
    assert 'class="chart-data"' in page.text
    # the upgrade path is labelled with the catalogue's kit names, not their ids
    ladder = page.text.split('id="ladder-chart"', 1)[1]
    spec = json.loads(ladder.split('class="chart-data">', 1)[1].split("</script>", 1)[0])
    assert spec["labels"][:2] == ["Vegetable kit", "Three more drip beds"]
    assert not {"drip_bed", "drip_beds_3"} & set(spec["labels"])
    assert "Three more drip beds" in page.text.split('id="path"', 1)[1]
    card = site["clients"]["agronomist"].get(f"/farmers/{site['farmer']}/card.pdf")
    assert card.status_code == 200 and card.content.startswith(b"%PDF-")
    png = site["clients"]["agronomist"].get(f"/farmers/{site['farmer']}/card.png")
    assert png.headers["content-type"] == "image/png"
    assert (
        site["clients"]["agronomist"].get(f"/farmers/{site['other_farmer']}/growth").status_code
        == 404
    )
    assert site["clients"]["supplier"].get(f"/farmers/{site['farmer']}/card.pdf").status_code == 403


def test_a_manager_matches_a_parked_payment_from_the_queue(site: dict[str, Any]) -> None:
    manager = site["clients"]["manager"]
    queue = manager.get("/payments/review")
    assert queue.status_code == 200 and "Q1" in queue.text
    assert site["clients"]["agronomist"].get("/payments/review").status_code == 403
    matched = manager.post(
        f"/payments/{site['payment']}/match",
        data={"sale_id": str(site["sale"]), "note": "checked"},
        follow_redirects=False,
    )
    assert matched.status_code == 303, matched.text
    assert "No payment waits" in manager.get("/payments/review").text
    again = manager.post(f"/payments/{site['payment']}/match", data={"sale_id": str(site["sale"])})
    assert again.status_code == 409 and "not parked" in again.text


def test_the_api_sells_refuses_and_lists_kits(site: dict[str, Any]) -> None:
    agronomist = site["clients"]["agronomist"]
    areas = agronomist.get("/api/v1/rollout/areas?as_of=2025-06-30").json()
    assert [a["name"] for a in areas] == ["Dedza"] and areas[0]["buying_farmers"] == 1
    supplier_id = agronomist.get("/api/v1/sales").json()["items"][0]["supplier_id"]
    body = {"farmer_id": site["farmer"], "kit_code": "poultry_unit", "method": "cash",
            "sold_on": "2025-05-01", "supplier_id": supplier_id}  # fmt: skip
    sold = agronomist.post("/api/v1/sales", json=body)
    assert sold.status_code == 201, sold.text
    assert sold.json()["commission"] == "5250.00"  # 5% of 105,000
    refused = agronomist.post("/api/v1/sales", json=body | {"kit_code": "grading_packing"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "kit_prerequisites"
    assert refused.json()["error"]["field"] == "kit_code"
    other = agronomist.post(
        "/api/v1/sales", json=body | {"farmer_id": site["other_farmer"], "kit_code": "drip_bed"}
    )
    assert other.status_code == 404
    listed = agronomist.get(f"/api/v1/sales?farmer_id={site['farmer']}").json()
    assert listed["total"] == 2
    growth = agronomist.get(f"/api/v1/farmers/{site['farmer']}/growth?as_of=2025-06-30").json()
    assert growth["owned"] == {"drip_bed": 1, "poultry_unit": 1} and growth["spent"] == "122500.00"
    supplier = site["clients"]["supplier"]  # reads sales (its own) but reaches no farmer
    assert supplier.get(f"/api/v1/farmers/{site['farmer']}/growth").status_code == 404
    assert site["clients"]["supplier"].get("/api/v1/sales").json()["total"] == 3


AREAS_FILE = json.dumps(
    {"programme": "PA-HN", "districts": [{"id": "Dedza", "name": "Dedza", "area": {
        "bounding_box": {"west": 33.9, "south": -14.6, "east": 34.6, "north": -13.9}}}],
     "villages": [{"id": "Chimbiya", "name": "Chimbiya", "district": "Dedza"}],
     "kits": [{"id": "drip_bed", "name": "Drip bed", "product": "veg"}],
     "products": [{"id": "veg", "name": "Vegetables"}]}
)  # fmt: skip
IN_DEDZA, IN_LILONGWE = "-14.3779 34.3331", "-13.9626 33.7741"


def inspection(site: dict[str, Any], n: int, location: str) -> dict[str, Any]:
    return {
        "inspection_date": "2025-02-11",
        "site/village": "Chimbiya",
        "farmer_qr": farmer_code("PA-HN", site["farmer"]),
        "site/location": location,
        "kit": "drip_bed",
        "kit_condition": "in_use",
        "units_seen": "1",
        "photo": f"site-{n}.jpg",
        "meta/instanceID": f"uuid:web-{n}",
    }


def upload(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "file": ("inspections.json", json.dumps(rows), "application/json"),
        "programme_data": ("programme.json", AREAS_FILE, "application/json"),
    }


def inspection_photos(site: dict[str, Any]) -> list[str | None]:
    database = Database(site["database_url"])
    with database.session() as session:
        photos = list(
            session.scalars(select(FieldVisit.photo_ref).where(FieldVisit.kind == "inspection"))
        )
    database.dispose()
    return photos


def test_the_api_imports_field_submissions_all_or_nothing_and_once(site: dict[str, Any]) -> None:
    agronomist = site["clients"]["agronomist"]

    def post(rows: list[dict[str, Any]]) -> Any:
        return agronomist.post(
            "/api/v1/field-submissions", data={"form": "inspection"}, files=upload(rows)
        )

    good, outside = inspection(site, 1, IN_DEDZA), inspection(site, 2, IN_LILONGWE)
    refused = post([good, outside])
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "outside_district"
    assert refused.json()["error"]["field"] == "rows[2].location"
    assert [r["outcome"] for r in refused.json()["report"]["rows"]] == ["imported", "refused"]
    assert inspection_photos(site) == []
    imported = post([good])
    assert imported.status_code == 200, imported.text
    assert [r["outcome"] for r in imported.json()["rows"]] == ["imported"]
    again = post([good])
    assert [r["outcome"] for r in again.json()["rows"]] == ["skipped-duplicate"]
    assert inspection_photos(site) == ["site-1.jpg"]


def test_the_upload_page_reports_row_by_row(site: dict[str, Any]) -> None:
    agronomist = site["clients"]["agronomist"]
    page = agronomist.get("/field-submissions")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    assert site["clients"]["supplier"].get("/field-submissions").status_code == 403
    rows = [inspection(site, 3, IN_DEDZA), inspection(site, 4, IN_LILONGWE)]
    refused = agronomist.post("/field-submissions", data={"form": "inspection"}, files=upload(rows))
    assert refused.status_code == 422
    assert "nothing was written" in refused.text and "rows[2].location" in refused.text
    assert inspection_photos(site) == []
    done = agronomist.post(
        "/field-submissions", data={"form": "inspection"}, files=upload(rows[:1])
    )
    assert done.status_code == 200 and "uuid:web-3" in done.text
    assert inspection_photos(site) == ["site-3.jpg"]


def test_the_api_imports_kit_sales(site: dict[str, Any]) -> None:
    """A kit-sale export through the API: the sale recorded (paid, cash), once."""
    agronomist = site["clients"]["agronomist"]
    row = {
        "sale_date": "2025-03-05", "site/village": "Chimbiya",
        "farmer_qr": farmer_code("PA-HN", site["farmer"]), "kit": "drip_bed", "units": "1",
        "amount": "17500", "payment_method": "cash", "meta/instanceID": "uuid:web-sale-1",
    }  # fmt: skip
    files = {"file": ("sales.json", json.dumps([row]), "application/json")}
    imported = agronomist.post("/api/v1/field-submissions", data={"form": "kit_sale"}, files=files)
    assert imported.status_code == 200, imported.text
    assert [r["outcome"] for r in imported.json()["rows"]] == ["imported"]
    database = Database(site["database_url"])
    with database.session() as session:
        sold = session.scalars(
            select(KitSale).where(KitSale.farmer_id == site["farmer"]).order_by(KitSale.id.desc())
        ).first()
        assert sold is not None and (sold.kit_code, sold.status) == ("drip_bed", "paid")
        assert sold.sold_on == date(2025, 3, 5)
    database.dispose()
    again = agronomist.post("/api/v1/field-submissions", data={"form": "kit_sale"}, files=files)
    assert [r["outcome"] for r in again.json()["rows"]] == ["skipped-duplicate"]


def test_a_refused_rows_problem_is_said_in_the_readers_language(site: dict[str, Any]) -> None:
    """The import's report says a refused row's problem in the reader's language: over the
    API (the error and the report) and on the upload page, the amounts written for it."""
    agronomist = site["clients"]["agronomist"]
    row = {
        "sale_date": "2025-03-05", "site/village": "Chimbiya",
        "farmer_qr": farmer_code("PA-HN", site["farmer"]), "kit": "drip_bed", "units": "1",
        "amount": "15000", "payment_method": "cash", "meta/instanceID": "uuid:web-sale-es",
    }  # fmt: skip
    files = {"file": ("sales.json", json.dumps([row]), "application/json")}
    spanish = {"Accept-Language": "es"}
    refused = agronomist.post(
        "/api/v1/field-submissions", data={"form": "kit_sale"}, files=files, headers=spanish
    )
    assert refused.status_code == 422, refused.text
    message = refused.json()["error"]["message"]
    assert "15.000,00 MWK" in message and "17.500,00 MWK" in message
    assert refused.json()["report"]["rows"][0]["problems"][0]["message"] == message
    page = agronomist.post(
        "/field-submissions", data={"form": "kit_sale"}, files=files, headers=spanish
    )
    assert page.status_code == 422 and "17.500,00 MWK" in page.text
    english = agronomist.post("/api/v1/field-submissions", data={"form": "kit_sale"}, files=files)
    assert "17,500.00 MWK" in english.json()["error"]["message"]
