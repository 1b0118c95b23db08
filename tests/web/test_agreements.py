"""Agreements, deliveries, payments and alerts: the API and the pages.

The permission matrix of every endpoint; a buyer and a PO's representative see only their own
agreements (listed, counted, read); a refused recording changes nothing; the pages in Spanish.
Writes go to a copy of the demo programme of this module's own (``own``), never to the shared
role clients' database."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alianza.settings import Settings
from alianza.web.app import create_app
from tests.web import matrix
from tests.web.conftest import DEMO_PASSWORD, ROLE_USERS, browser_sign_in, csrf_of
from tests.web.translation import assert_translated

API = "/api/v1"
READERS = {
    "administrator",
    "programme_manager",
    "field_officer",
    "po_representative",
    "buyer",
    "lender",
    "auditor",
}
RECORDS_DELIVERIES = {"administrator", "programme_manager", "field_officer", "po_representative"}
RECORDS_PAYMENTS = {"administrator", "programme_manager", "buyer"}


def items(client: TestClient, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    answer = client.get(path, params={"limit": 1000, **params})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["items"], body["total"]


@pytest.fixture(scope="module")
def shared(role_clients: dict[str, TestClient]) -> dict[str, Any]:
    """An agreement both the demo's PO representative and its buyer reach, and who else does."""
    mine = {a["id"] for a in items(role_clients["po_representative"], f"{API}/agreements")[0]}
    theirs = {a["id"] for a in items(role_clients["buyer"], f"{API}/agreements")[0]}
    common = sorted(mine & theirs)
    assert common, "the demo's PO representative and buyer share an agreement"
    agreement_id = common[0]
    reach = {
        role
        for role, client in role_clients.items()
        if client.get(f"{API}/agreements/{agreement_id}").status_code == 200
    }
    assert reach >= {"administrator", "programme_manager", "auditor", "po_representative", "buyer"}
    detail = role_clients["administrator"].get(f"{API}/agreements/{agreement_id}").json()
    return {"id": agreement_id, "reach": reach, "detail": detail}


# --- the permission matrix ------------------------------------------------------------------


def test_matrix_of_the_lists(role_clients: dict[str, TestClient]) -> None:
    matrix.check(role_clients, "GET", f"{API}/agreements", READERS)
    matrix.check(role_clients, "GET", f"{API}/alerts?as_of=2025-06-30", READERS)
    check_page(role_clients, "GET", "/agreements", READERS)


def test_matrix_of_one_agreement(
    role_clients: dict[str, TestClient], shared: dict[str, Any]
) -> None:
    agreement_id, reach = shared["id"], shared["reach"]
    for path in (
        f"{API}/agreements/{agreement_id}",
        f"{API}/agreements/{agreement_id}/deliveries",
        f"{API}/agreements/{agreement_id}/payments",
        f"/agreements/{agreement_id}",
    ):
        check = check_page if not path.startswith(API) else matrix.check
        check(role_clients, "GET", path, reach & READERS, refused_status={403, 404})
        assert role_clients["evaluator"].get(path).status_code == 403


def test_matrix_of_recording(role_clients: dict[str, TestClient], shared: dict[str, Any]) -> None:
    """Each recording refused by a rule (so nothing is written): the roles allowed get that
    refusal (409/422), the others 403, or 404 where their scope does not reach the agreement."""
    agreement_id, reach = shared["id"], shared["reach"]
    before = date.fromisoformat(shared["detail"]["starts_on"]) - timedelta(days=1)
    delivery = {
        "delivered_on": before.isoformat(),
        "quantity": "1",
        "grade": "A",
        "reference_price": "10.00",
    }
    path = f"{API}/agreements/{agreement_id}/deliveries"
    matrix.check(
        role_clients,
        "POST",
        path,
        RECORDS_DELIVERIES & reach,
        refused_status={403, 404},
        json=delivery,
    )
    for role in set(matrix.ROLES) - RECORDS_DELIVERIES:
        assert role_clients[role].post(path, json=delivery).status_code == 403, role
    payment = {"amount": "1.001", "paid_on": "2025-06-30"}  # cents only: the ledger refuses it
    path = f"{API}/agreements/{agreement_id}/payments"
    matrix.check(
        role_clients,
        "POST",
        path,
        RECORDS_PAYMENTS & reach,
        refused_status={403, 404},
        json=payment,
    )
    for role in set(matrix.ROLES) - RECORDS_PAYMENTS:
        assert role_clients[role].post(path, json=payment).status_code == 403, role
    for role in RECORDS_DELIVERIES & reach:
        answer = role_clients[role].post(
            f"{API}/agreements/{agreement_id}/deliveries", json=delivery
        )
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "agreement_period"


def test_matrix_of_the_page_forms(
    role_clients: dict[str, TestClient], shared: dict[str, Any]
) -> None:
    """The forms' routes too (bearer clients need no CSRF token); bad dates: nothing written."""
    agreement_id, reach = shared["id"], shared["reach"]
    matrix_html(
        role_clients,
        f"/agreements/{agreement_id}/deliveries",
        RECORDS_DELIVERIES & reach,
        {"delivered_on": "1999-01-01", "quantity": "1", "grade": "A", "reference_price": "10"},
    )
    matrix_html(
        role_clients,
        f"/agreements/{agreement_id}/payments",
        RECORDS_PAYMENTS & reach,
        {"paid_on": "not a date", "amount": "10"},
    )


def matrix_html(
    role_clients: dict[str, TestClient], path: str, allowed: set[str], form: dict[str, str]
) -> None:
    for role in matrix.ROLES:
        answer = role_clients[role].post(path, data=form, follow_redirects=False)
        if role in allowed:
            assert answer.status_code in (409, 422), (role, answer.status_code)
        else:
            assert answer.status_code in (403, 404), (role, answer.status_code)


def check_page(
    clients: dict[str, TestClient],
    method: str,
    path: str,
    allowed: set[str],
    refused_status: set[int] | None = None,
    **request: Any,
) -> None:
    """matrix.check for a page: the refusal is the error page (HTML), not the API's body."""
    for role in matrix.ROLES:
        answer = clients[role].request(method, path, follow_redirects=False, **request)
        if role in allowed:
            assert answer.status_code == 200, (role, path, answer.status_code)
        else:
            assert answer.status_code in (refused_status or {403}), (role, path, answer.status_code)
            assert "<h1" in answer.text


# --- scopes -----------------------------------------------------------------------------------


def test_a_buyer_sees_only_their_agreements(role_clients: dict[str, TestClient]) -> None:
    everything, total = items(role_clients["administrator"], f"{API}/agreements")
    own, own_total = items(role_clients["buyer"], f"{API}/agreements")
    assert own and own_total == len(own) < total
    buyers = {a["buyer_id"] for a in own}
    assert len(buyers) == 1
    others = [a for a in everything if a["buyer_id"] not in buyers]
    assert others
    other = others[0]["id"]
    for path in (
        f"{API}/agreements/{other}",
        f"{API}/agreements/{other}/deliveries",
        f"{API}/agreements/{other}/payments",
        f"/agreements/{other}",
    ):
        assert role_clients["buyer"].get(path).status_code == 404, path
    alerts, _ = items(role_clients["buyer"], f"{API}/alerts", as_of="2026-12-01")
    assert {a["agreement_id"] for a in alerts} <= {a["id"] for a in own}
    page = role_clients["buyer"].get("/agreements", params={"limit": 100}).text
    shown = {int(n) for n in re.findall(r'href="/agreements/(\d+)"', page)}
    assert shown == {a["id"] for a in own}


def test_a_po_representative_sees_only_their_organizations(
    role_clients: dict[str, TestClient],
) -> None:
    own, _ = items(role_clients["po_representative"], f"{API}/agreements")
    assert own and len({a["organization_id"] for a in own}) == 1
    _, total = items(role_clients["administrator"], f"{API}/agreements")
    assert len(own) < total


def test_the_totals_and_schedule(
    role_clients: dict[str, TestClient], shared: dict[str, Any]
) -> None:
    client = role_clients["administrator"]
    detail = client.get(f"{API}/agreements/{shared['id']}", params={"as_of": "2030-01-01"}).json()
    deliveries, count = items(client, f"{API}/agreements/{shared['id']}/deliveries")
    assert count == len(deliveries) > 0
    delivered = sum(float(d["quantity"]) for d in deliveries)
    assert float(detail["delivered_quantity"]) == pytest.approx(delivered)
    in_periods = sum(float(p["delivered"]) for p in detail["schedule"])
    assert in_periods == pytest.approx(delivered)  # every demo delivery falls in a period
    payments, _ = items(client, f"{API}/agreements/{shared['id']}/payments")
    assert float(detail["paid"]) == pytest.approx(sum(float(p["amount"]) for p in payments))
    paged, total = (
        client.get(f"{API}/agreements/{shared['id']}/deliveries", params={"limit": 2, "offset": 1})
        .json()
        .values()
    )
    assert total == count and [d["id"] for d in paged] == [d["id"] for d in deliveries[1:3]]
    assert client.get(f"{API}/agreements", params={"limit": 0}).status_code == 422


# --- writing, on a copy of the demo of this module's own ---------------------------------------


@pytest.fixture(scope="module")
def own(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("agreements-own")
    database = folder / "alianza.db"
    shutil.copy(demo_template, database)
    app = create_app(
        Settings(
            data_dir=folder,
            database_url=f"sqlite:///{database}",
            secret_key="test",
            default_locale="en",
        )
    )

    def client_for(role: str) -> TestClient:
        client = TestClient(app, raise_server_exceptions=False)
        token = client.post(
            f"{API}/auth/token", data={"username": ROLE_USERS[role], "password": DEMO_PASSWORD}
        ).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        return client

    yield app, client_for


def an_agreement(client: TestClient) -> dict[str, Any]:
    """The first agreement the client sees that has a period running on (demo) 2025-06-30."""
    for agreement in items(client, f"{API}/agreements")[0]:
        if agreement["starts_on"] <= "2025-06-30" <= agreement["ends_on"]:
            return agreement
    raise AssertionError("no running agreement")


def test_record_a_delivery_and_see_it(own: Any) -> None:
    _, client_for = own
    client = client_for("programme_manager")
    agreement = an_agreement(client)
    path = f"{API}/agreements/{agreement['id']}"
    before = client.get(path, params={"as_of": "2025-06-30"}).json()
    body = {
        "delivered_on": "2025-06-30",
        "quantity": "12.5",
        "grade": agreement["quality_grades"][0],
        "reference_price": "20.00",
    }
    answer = client.post(f"{path}/deliveries", json=body)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert (
        made["due_on"]
        == (date(2025, 6, 30) + timedelta(days=agreement["payment_terms_days"])).isoformat()
    )
    listed, _ = items(client, f"{path}/deliveries")
    assert listed[0]["id"] == made["id"]
    after = client.get(path, params={"as_of": "2025-06-30"}).json()
    assert float(after["delivered_quantity"]) == pytest.approx(
        float(before["delivered_quantity"]) + 12.5
    )
    entries, _ = items(
        client_for("auditor"), f"{API}/audit", entity="deliveries", entity_id=made["id"]
    )
    assert [e["action"] for e in entries] == ["create"]


def test_a_buyer_records_their_payment(own: Any) -> None:
    _, client_for = own
    buyer = client_for("buyer")
    agreement = an_agreement(buyer)
    path = f"{API}/agreements/{agreement['id']}"
    _, count = items(buyer, f"{path}/payments")
    answer = buyer.post(f"{path}/payments", json={"amount": "150.25", "paid_on": "2025-06-30"})
    assert answer.status_code == 201, answer.text
    listed, now = items(buyer, f"{path}/payments")
    assert now == count + 1 and listed[0]["amount"] == "150.25"
    postings, _ = items(client_for("administrator"), f"{API}/ledger/accounts")
    assert postings  # the ledger is readable after the posting


def test_a_refused_recording_changes_nothing(own: Any) -> None:
    _, client_for = own
    client = client_for("programme_manager")
    agreement = an_agreement(client)
    path = f"{API}/agreements/{agreement['id']}"
    _, deliveries = items(client, f"{path}/deliveries")
    _, audit = items(client_for("auditor"), f"{API}/audit")
    bad = {
        "delivered_on": "2025-06-30",
        "quantity": "3",
        "grade": "no such grade",
        "reference_price": "9",
    }
    answer = client.post(f"{path}/deliveries", json=bad)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "quality_grades"
    page = client.post(
        f"/agreements/{agreement['id']}/deliveries", data=bad, headers={"Accept-Language": "es"}
    )
    assert page.status_code == 409
    assert "La entrega no se registró" in page.text
    assert "La calidad debe ser una de las del convenio." in page.text
    assert 'value="3"' in page.text  # what was typed is kept
    answer = client.post(f"{path}/payments", json={"amount": "-5", "paid_on": "2025-06-30"})
    assert answer.status_code == 422
    assert items(client, f"{path}/deliveries")[1] == deliveries
    assert items(client_for("auditor"), f"{API}/audit")[1] == audit


def test_the_page_records_a_delivery_with_the_form(own: Any) -> None:
    app, client_for = own
    agreement = an_agreement(client_for("programme_manager"))
    with TestClient(app, raise_server_exceptions=False) as browser:
        browser_sign_in(browser, "tecnico")
        visible = {a["id"] for a in items(client_for("field_officer"), f"{API}/agreements")[0]}
        target = agreement["id"] if agreement["id"] in visible else sorted(visible)[0]
        page = f"/agreements/{target}"
        token = csrf_of(browser, page)
        form = {
            "delivered_on": "2025-06-29",
            "quantity": "7,5",
            "grade": "A",
            "reference_price": "21",
            "csrf_token": token,
        }
        answer = browser.post(f"{page}/deliveries", data=form, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        shown = browser.get(answer.headers["location"]).text
        assert "The delivery is recorded." in shown
        assert "7.5" in shown
        no_token = {k: v for k, v in form.items() if k != "csrf_token"}
        assert browser.post(f"{page}/deliveries", data=no_token).status_code == 409


def test_the_pages_in_spanish(role_clients: dict[str, TestClient], shared: dict[str, Any]) -> None:
    spanish = {"Accept-Language": "es"}
    for role in ("programme_manager", "buyer"):
        client = role_clients[role]
        listed = client.get("/agreements", headers=spanish)
        assert listed.status_code == 200
        assert_translated(listed.text, "es")
        one = client.get(f"/agreements/{shared['id']}", headers=spanish)
        assert one.status_code == 200
        assert_translated(one.text, "es")
        assert "Entregas" in one.text and "Calendario de entregas" in one.text
    form = (
        role_clients["programme_manager"].get(f"/agreements/{shared['id']}", headers=spanish).text
    )
    assert "Registrar una entrega" in form and "Registrar un pago" in form
    buyer = role_clients["buyer"].get(f"/agreements/{shared['id']}", headers=spanish).text
    assert "Registrar una entrega" not in buyer and "Registrar un pago" in buyer


def test_alerts_in_the_readers_language(role_clients: dict[str, TestClient]) -> None:
    """The demo has side-selling POs and late payers: the page says the alerts in Spanish."""
    client = role_clients["administrator"]
    alerts, total = items(client, f"{API}/alerts", as_of="2025-06-30")
    assert total > 0 and {a["kind"] for a in alerts} == {"side_selling", "buyer_default"}
    with_alerts = [a for a in items(client, f"{API}/agreements")[0] if a["alerts"]]
    assert with_alerts
    page = client.get(f"/agreements/{with_alerts[0]['id']}", headers={"Accept-Language": "es"}).text
    assert "Riesgo de" in page
    assert_translated(page, "es")
