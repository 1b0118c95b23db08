"""The registry's pages and API on the demo programme: who may see and edit what, scopes (a
field officer sees their district only, a PO's representative their members only, a buyer no
farmer), search and paging, all-or-nothing imports, and the pages in Spanish."""

from __future__ import annotations

import gettext
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from alianza.web import i18n
from tests.web.matrix import ROLES, check
from tests.web.translation import assert_translated

READERS = {
    "administrator",
    "programme_manager",
    "evaluator",
    "field_officer",
    "po_representative",
    "auditor",
}
EDITORS = {"administrator", "programme_manager", "field_officer"}
WHOLE_PROGRAMME = {"administrator", "programme_manager", "auditor"}


@pytest.fixture(scope="module")
def db(demo_url: str) -> Iterator[Any]:
    """Plain SQL on the demo database: the truth the scoped answers are checked against."""
    engine = create_engine(demo_url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def district_farmers(db: Any, district: str) -> set[int]:
    """Farmers living in a village of ``district`` (village -> municipality -> district)."""
    return set(
        db.execute(
            text(
                "SELECT f.id FROM farmers f JOIN places v ON v.id = f.village_id "
                "JOIN places m ON m.id = v.parent_id JOIN places d ON d.id = m.parent_id "
                "WHERE d.name = :name AND d.kind = 'district'"
            ),
            {"name": district},
        ).scalars()
    )


def scope_organization(db: Any, username: str) -> int:
    return int(
        db.execute(
            text(
                "SELECT r.organization_id FROM roles r JOIN users u ON u.id = r.user_id "
                "WHERE u.username = :username"
            ),
            {"username": username},
        ).scalar_one()
    )


def all_ids(client: TestClient, path: str, **params: Any) -> set[int]:
    ids: set[int] = set()
    offset = 0
    while True:
        answer = client.get(path, params={**params, "limit": 1000, "offset": offset})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        ids |= {item["id"] for item in body["items"]}
        offset += 1000
        if offset >= body["total"]:
            return ids


def village_in(db: Any, district: str, inside: bool = True) -> tuple[int, str, str]:
    """(id, village, municipality) of a village in (or outside) ``district``."""
    row = db.execute(
        text(
            "SELECT v.id, v.name, m.name FROM places v JOIN places m ON m.id = v.parent_id "
            "JOIN places d ON d.id = m.parent_id WHERE v.kind = 'village' AND "
            + ("d.name = :name" if inside else "d.name <> :name")
            + " ORDER BY v.id"
        ),
        {"name": district},
    ).first()
    assert row is not None
    return int(row[0]), str(row[1]), str(row[2])


# --- the permission matrix -------------------------------------------------------------------


def check_pages(
    clients: dict[str, TestClient],
    method: str,
    path: str,
    allowed: set[str],
    refused_status: set[int] | None = None,
    **request: Any,
) -> None:
    """matrix.check for pages: a refusal is an HTML error page (matrix.check reads JSON)."""
    for role in ROLES:
        answer = clients[role].request(method, path, **request)
        if role in allowed:
            assert answer.status_code not in {401, 403, 404, 500}, (role, path, answer.text[:300])
        else:
            assert answer.status_code in (refused_status or {403}), (role, path, answer.status_code)
            assert "<html" in answer.text


def test_who_may_read_the_registry(role_clients: dict[str, TestClient], db: Any) -> None:
    po = scope_organization(db, "cooperativa")
    member = (
        db.execute(
            text(
                "SELECT farmer_id FROM memberships WHERE organization_id = :po ORDER BY farmer_id"
            ),
            {"po": po},
        )
        .scalars()
        .first()
    )
    for path in ("/api/v1/farmers", "/api/v1/organizations", "/api/v1/places"):
        check(role_clients, "GET", path, READERS)
    for path in ("/farmers", "/organizations"):
        check_pages(role_clients, "GET", path, READERS)
    # the PO's own members and the PO itself: programme-wide roles and the PO's representative
    for path in (
        f"/api/v1/farmers/{member}",
        f"/api/v1/organizations/{po}",
        f"/api/v1/organizations/{po}/members",
    ):
        check(
            role_clients,
            "GET",
            path,
            WHOLE_PROGRAMME | {"po_representative"},
            refused_status={403, 404},
        )
    for path in (f"/farmers/{member}", f"/organizations/{po}"):
        check_pages(
            role_clients,
            "GET",
            path,
            WHOLE_PROGRAMME | {"po_representative"},
            refused_status={403, 404},
        )


def test_who_may_register_and_import(role_clients: dict[str, TestClient], db: Any) -> None:
    village, _, _ = village_in(db, "Intibucá")
    check_pages(role_clients, "GET", "/registry/import", EDITORS)
    before = farmer_count(db)
    check(
        role_clients,
        "POST",
        "/api/v1/farmers",
        EDITORS,
        json={
            "name": f"Test Matrix {uuid.uuid4().hex[:6]}",
            "sex": "female",
            "birth_year": 1990,
            "household_size": 4,
            "land_hectares": "1.5",
            "village_id": village,
        },
    )
    assert farmer_count(db) == before + len(EDITORS)  # the refused ones wrote nothing
    empty = {"file": ("farmers.csv", b"name,sex\n")}
    check(role_clients, "POST", "/api/v1/registry/imports/farmers", EDITORS, files=empty)
    check_pages(
        role_clients, "POST", "/registry/import", EDITORS, files=empty, data={"kind": "farmers"}
    )


# --- scopes ----------------------------------------------------------------------------------


def test_a_field_officer_sees_their_district_only(
    role_clients: dict[str, TestClient], db: Any
) -> None:
    officer = role_clients["field_officer"]
    db.commit()  # a fresh snapshot (PostgreSQL)
    expected = district_farmers(db, "Intibucá")
    assert expected and all_ids(officer, "/api/v1/farmers") == expected
    outside = set(db.execute(text("SELECT id FROM farmers")).scalars()) - expected
    stranger = min(outside)
    assert officer.get(f"/api/v1/farmers/{stranger}").status_code == 404
    assert officer.get(f"/farmers/{stranger}").status_code == 404
    name = db.execute(
        text("SELECT name FROM farmers WHERE id = :id"), {"id": stranger}
    ).scalar_one()
    found = officer.get("/api/v1/farmers", params={"q": name}).json()
    assert stranger not in {item["id"] for item in found["items"]}
    # the page's count is the scoped count
    total = officer.get("/api/v1/farmers").json()["total"]
    page = officer.get("/farmers")
    assert page.status_code == 200
    assert f"{total:,} farmers" in page.text


def test_a_po_representative_sees_their_members_only(
    role_clients: dict[str, TestClient], db: Any
) -> None:
    po = scope_organization(db, "cooperativa")
    members = set(
        db.execute(
            text("SELECT farmer_id FROM memberships WHERE organization_id = :po"), {"po": po}
        ).scalars()
    )
    representative = role_clients["po_representative"]
    assert all_ids(representative, "/api/v1/farmers") == members
    assert representative.get("/api/v1/farmers").json()["total"] == len(members)
    assert all_ids(representative, f"/api/v1/organizations/{po}/members") == members
    other = (
        db.execute(
            text(
                "SELECT id FROM organizations WHERE kind = 'producer_organization' "
                "AND id <> :po ORDER BY id"
            ),
            {"po": po},
        )
        .scalars()
        .first()
    )
    assert representative.get(f"/api/v1/organizations/{other}").status_code == 404
    assert representative.get(f"/organizations/{other}").status_code == 404


def test_a_buyer_sees_no_farmer(role_clients: dict[str, TestClient]) -> None:
    buyer = role_clients["buyer"]
    for path in ("/api/v1/farmers", "/farmers", "/api/v1/farmers/1", "/organizations"):
        assert buyer.get(path).status_code == 403, path


# --- search, paging, one farmer, organizations ------------------------------------------------


def test_search_filters_and_paging(role_clients: dict[str, TestClient], db: Any) -> None:
    admin = role_clients["administrator"]
    everyone = admin.get("/api/v1/farmers", params={"limit": 10}).json()
    assert len(everyone["items"]) == 10 and everyone["total"] > 100
    second = admin.get("/api/v1/farmers", params={"limit": 10, "offset": 10}).json()
    assert not {f["id"] for f in everyone["items"]} & {f["id"] for f in second["items"]}
    women = admin.get("/api/v1/farmers", params={"sex": "female", "limit": 1000}).json()
    assert (
        women["total"]
        == db.execute(
            text(
                "SELECT count(*) FROM farmers WHERE sex = 'female' AND programme_id = "
                "(SELECT id FROM programmes WHERE code = 'DEMO-PA')"  # not DEMO-MI's
            )
        ).scalar_one()
    )
    assert {f["sex"] for f in women["items"]} == {"female"}
    farmer = db.execute(
        text(
            "SELECT id, name, phone, national_id, village_id FROM farmers "
            "WHERE phone IS NOT NULL AND national_id IS NOT NULL ORDER BY id"
        )
    ).first()
    for needle in (farmer.name.upper(), farmer.phone[-6:], farmer.national_id):
        found = admin.get("/api/v1/farmers", params={"q": needle}).json()
        assert farmer.id in {f["id"] for f in found["items"]}, needle
    in_village = admin.get(
        "/api/v1/farmers", params={"village_id": farmer.village_id, "limit": 1000}
    ).json()
    assert {f["village_id"] for f in in_village["items"]} == {farmer.village_id}
    page = admin.get("/farmers", params={"q": farmer.name, "sex": "", "village_id": ""})
    assert page.status_code == 200 and farmer.name in page.text
    paged = admin.get("/farmers", params={"limit": 25, "offset": 25})
    assert 'rel="prev"' in paged.text and 'rel="next"' in paged.text
    assert admin.get("/api/v1/farmers", params={"limit": 0}).status_code == 422


def test_one_farmer(role_clients: dict[str, TestClient], db: Any) -> None:
    admin = role_clients["administrator"]
    farmer_id = db.execute(text("SELECT farmer_id FROM memberships ORDER BY id")).scalars().first()
    body = admin.get(f"/api/v1/farmers/{farmer_id}").json()
    assert set(body["places"]) == {"village", "municipality", "district", "country"}
    assert body["organizations"] and body["age"] >= 0 and body["youth"] == (body["age"] <= 35)
    page = admin.get(f"/farmers/{farmer_id}")
    assert page.status_code == 200
    assert body["name"] in page.text and body["places"]["district"]["name"] in page.text
    assert body["organizations"][0]["name"] in page.text
    assert admin.get("/api/v1/farmers/999999999").status_code == 404


def test_organizations_by_kind_with_member_counts(
    role_clients: dict[str, TestClient], db: Any
) -> None:
    admin = role_clients["administrator"]
    pos = admin.get(
        "/api/v1/organizations", params={"kind": "producer_organization", "limit": 1000}
    ).json()
    assert (
        pos["total"]
        == db.execute(
            text("SELECT count(*) FROM organizations WHERE kind = 'producer_organization'")
        ).scalar_one()
    )
    counts = dict(
        db.execute(
            text("SELECT organization_id, count(*) FROM memberships GROUP BY organization_id")
        ).all()
    )
    for item in pos["items"]:
        assert item["member_count"] == counts.get(item["id"], 0)
    busiest = max(pos["items"], key=lambda item: item["member_count"])
    page = admin.get(f"/organizations/{busiest['id']}", params={"limit": 25})
    assert page.status_code == 200 and busiest["name"] in page.text
    listing = admin.get("/organizations", params={"kind": "buyer"})
    assert listing.status_code == 200 and "Buyer" in listing.text


# --- registering and importing ---------------------------------------------------------------


def farmer_count(db: Any) -> int:
    db.commit()  # a fresh snapshot (PostgreSQL)
    return int(db.execute(text("SELECT count(*) FROM farmers")).scalar_one())


def test_a_field_officer_registers_in_their_district_only(
    role_clients: dict[str, TestClient], db: Any
) -> None:
    officer = role_clients["field_officer"]
    inside, _, _ = village_in(db, "Intibucá")
    outside, _, _ = village_in(db, "Intibucá", inside=False)
    farmer = {
        "sex": "F",
        "birth_year": 1995,
        "household_size": 5,
        "land_hectares": "0.75",
        "phone": f"+504{uuid.uuid4().int % 10**8:08d}",
    }
    before = farmer_count(db)
    refused = officer.post(
        "/api/v1/farmers", json={**farmer, "name": "Test Outside", "village_id": outside}
    )
    assert refused.status_code == 403 and farmer_count(db) == before
    made = officer.post(
        "/api/v1/farmers",
        json={**farmer, "name": f"Test {uuid.uuid4().hex[:6]}", "village_id": inside},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["farmer"]["sex"] == "female" and body["farmer"]["youth"] is True
    assert officer.get(f"/api/v1/farmers/{body['farmer']['id']}").status_code == 200
    again = officer.post(
        "/api/v1/farmers",
        json={**farmer, "name": f"Test {uuid.uuid4().hex[:6]}", "village_id": inside},
    )
    assert "same phone" in {d["reason"] for d in again.json()["possible_duplicates"]}


def csv_of(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(row) for row in rows).encode()


HEADER = [
    "name",
    "sex",
    "birth_year",
    "household_size",
    "land_hectares",
    "village",
    "municipality",
    "phone",
]


def test_a_refused_import_lists_every_problem_and_writes_nothing(
    role_clients: dict[str, TestClient], db: Any
) -> None:
    officer = role_clients["field_officer"]
    _, village, municipality = village_in(db, "Intibucá")
    good = f"Test Good {uuid.uuid4().hex[:6]}"
    content = csv_of(
        [
            HEADER,
            [good, "F", "1980", "4", "1.2", village, municipality, ""],
            ["Test Bad", "X", "1980", "4", "1.2", village, municipality, ""],
            ["Test Nowhere", "M", "1980", "4", "1.2", "No Such Village", "", ""],
        ]
    )
    before = farmer_count(db)
    answer = officer.post(
        "/api/v1/registry/imports/farmers", files={"file": ("farmers.csv", content, "text/csv")}
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    rows = {(p["row"], p["column"]) for p in body["report"]["problems"]}
    assert {3, 4} <= {row for row, _ in rows} and 2 not in {row for row, _ in rows}
    assert body["error"]["field"].startswith("rows[3]")
    assert farmer_count(db) == before
    page = officer.post(
        "/registry/import",
        data={"kind": "farmers"},
        files={"file": ("farmers.csv", content, "text/csv")},
    )
    assert page.status_code == 422
    assert "nothing was written" in page.text and "No Such Village" in page.text
    assert farmer_count(db) == before
    assert not officer.get("/api/v1/farmers", params={"q": good}).json()["total"]


def test_a_good_import_shows_what_was_created(role_clients: dict[str, TestClient], db: Any) -> None:
    officer = role_clients["field_officer"]
    _, village, municipality = village_in(db, "Intibucá")
    names = [f"Test Imported {uuid.uuid4().hex[:6]}" for _ in range(2)]
    content = csv_of(
        [HEADER, *[[name, "M", "1970", "3", "2", village, municipality, ""] for name in names]]
    )
    answer = officer.post(
        "/api/v1/registry/imports/farmers", files={"file": ("farmers.csv", content, "text/csv")}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["created"]["farmers"] == 2
    assert officer.get("/api/v1/farmers", params={"q": names[0]}).json()["total"] == 1
    again = [f"Test Imported {uuid.uuid4().hex[:6]}"]
    page = officer.post(
        "/registry/import",
        data={"kind": "farmers"},
        files={
            "file": (
                "farmers.csv",
                csv_of([HEADER, [again[0], "F", "1990", "3", "2", village, municipality, ""]]),
                "text/csv",
            )
        },
    )
    assert page.status_code == 200 and "Farmers registered" in page.text


def test_a_field_officer_cannot_import_into_another_district(
    role_clients: dict[str, TestClient], db: Any
) -> None:
    officer = role_clients["field_officer"]
    _, village, municipality = village_in(db, "Intibucá", inside=False)
    before = farmer_count(db)
    answer = officer.post(
        "/api/v1/registry/imports/farmers",
        files={
            "file": (
                "farmers.csv",
                csv_of([HEADER, ["Test Far", "F", "1980", "4", "1", village, municipality, ""]]),
                "text/csv",
            )
        },
    )
    assert answer.status_code in {403, 409, 422}, answer.text
    assert farmer_count(db) == before


class SpanishReasons(gettext.NullTranslations):
    """Spanish for two of the importer's reasons (the catalogues' own translations come with
    the lead's merge): what the API and the page say of a refused row is said through them."""

    WORDS = {
        "must be female or male": "debe ser mujer u hombre",
        "no village '%(name)s' registered (with the places given)": "ninguna aldea '%(name)s'",
    }

    def gettext(self, message: str) -> str:
        return self.WORDS.get(message, message)


def test_a_refused_imports_reasons_are_said_in_the_readers_language(
    role_clients: dict[str, TestClient], db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        i18n,
        "translations",
        lambda locale: SpanishReasons() if locale == "es" else gettext.NullTranslations(),
    )
    officer = role_clients["field_officer"]
    _, village, municipality = village_in(db, "Intibucá")
    content = csv_of(
        [
            HEADER,
            ["Test Bad", "X", "1980", "4", "1.2", village, municipality, ""],
            ["Test Nowhere", "M", "1980", "4", "1.2", "No Such Village", "", ""],
        ]
    )
    spanish = {"Accept-Language": "es"}
    answer = officer.post(
        "/api/v1/registry/imports/farmers",
        files={"file": ("farmers.csv", content, "text/csv")},
        headers=spanish,
    )
    assert answer.status_code == 422, answer.text
    reasons = {p["column"]: p["reason"] for p in answer.json()["report"]["problems"]}
    assert reasons["sex"] == "debe ser mujer u hombre"
    assert reasons["village"] == "ninguna aldea 'No Such Village'"
    assert answer.json()["error"]["message"] == "debe ser mujer u hombre"
    page = officer.post(
        "/registry/import",
        data={"kind": "farmers"},
        files={"file": ("farmers.csv", content, "text/csv")},
        headers=spanish,
    )
    assert page.status_code == 422
    assert "debe ser mujer u hombre" in page.text and "must be female or male" not in page.text
    english = officer.post(
        "/api/v1/registry/imports/farmers", files={"file": ("farmers.csv", content, "text/csv")}
    )
    assert english.json()["error"]["message"] == "must be female or male"


@pytest.mark.parametrize(
    ("name", "content"),
    [("farmers.txt", b"name\nx\n"), ("farmers.csv", b""), ("farmers.xlsx", b"not a workbook")],
)
def test_unreadable_import_files(
    role_clients: dict[str, TestClient], name: str, content: bytes
) -> None:
    answer = role_clients["administrator"].post(
        "/api/v1/registry/imports/farmers", files={"file": (name, content)}
    )
    assert answer.status_code in {409, 422}, answer.text
    assert answer.json()["error"]["field"] == "file"


# --- languages ---------------------------------------------------------------------------------


def test_the_registry_pages_in_spanish(role_clients: dict[str, TestClient], db: Any) -> None:
    admin = role_clients["administrator"]
    farmer_id = db.execute(text("SELECT farmer_id FROM memberships ORDER BY id")).scalars().first()
    po = scope_organization(db, "cooperativa")
    for path in (
        "/farmers",
        f"/farmers/{farmer_id}",
        "/organizations",
        f"/organizations/{po}",
        "/registry/import",
    ):
        page = admin.get(path, headers={"Accept-Language": "es"})
        assert page.status_code == 200, path
        assert_translated(page.text, "es")
    assert "productores" in admin.get("/farmers", headers={"Accept-Language": "es"}).text
