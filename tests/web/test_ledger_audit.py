"""The ledger and the audit log: the API and the pages; permission matrix, scopes, paging and
filters, Spanish pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from alianza.platform.audit.service import entries, entries_page
from alianza.platform.db import Database
from alianza.platform.programmes.service import create_programme, create_user
from tests.web import matrix
from tests.web.test_agreements import check_page, items
from tests.web.translation import assert_translated

API = "/api/v1"
LEDGER_READERS = {
    "administrator",
    "programme_manager",
    "field_officer",
    "po_representative",
    "buyer",
    "lender",
    "auditor",
}
AUDIT_READERS = {"administrator", "programme_manager", "auditor"}


# --- ledger ---------------------------------------------------------------------------------


def test_matrix_of_the_ledger(role_clients: dict[str, TestClient]) -> None:
    matrix.check(role_clients, "GET", f"{API}/ledger/accounts", LEDGER_READERS)
    check_page(role_clients, "GET", "/ledger", LEDGER_READERS)
    own, _ = items(role_clients["buyer"], f"{API}/ledger/accounts")
    assert own, "the demo's buyer holds an account"
    account_id = own[0]["id"]
    reach = {
        role
        for role, client in role_clients.items()
        if client.get(f"{API}/ledger/accounts/{account_id}/postings").status_code == 200
    }
    assert reach >= {"administrator", "programme_manager", "auditor", "buyer"}
    for path in (f"{API}/ledger/accounts/{account_id}/postings", f"/ledger/accounts/{account_id}"):
        check = matrix.check if path.startswith(API) else check_page
        check(role_clients, "GET", path, reach, refused_status={403, 404})
        assert role_clients["evaluator"].get(path).status_code == 403


def test_a_buyer_sees_only_their_accounts(role_clients: dict[str, TestClient]) -> None:
    everything, total = items(role_clients["administrator"], f"{API}/ledger/accounts")
    own, own_total = items(role_clients["buyer"], f"{API}/ledger/accounts")
    assert 0 < own_total == len(own) < total
    assert {a["kind"] for a in own} == {"buyer"}
    other = next(a for a in everything if a["id"] not in {o["id"] for o in own})
    assert (
        role_clients["buyer"].get(f"{API}/ledger/accounts/{other['id']}/postings").status_code
        == 404
    )
    assert role_clients["buyer"].get(f"/ledger/accounts/{other['id']}").status_code == 404
    page = role_clients["buyer"].get("/ledger").text
    assert other["name"] not in page and own[0]["name"] in page


def test_an_accounts_postings(role_clients: dict[str, TestClient]) -> None:
    client = role_clients["administrator"]
    accounts, _ = items(client, f"{API}/ledger/accounts")
    account = next(a for a in accounts if a["kind"] == "buyer")
    postings, total = items(client, f"{API}/ledger/accounts/{account['id']}/postings")
    assert total == len(postings) > 0
    assert all(any(e["account_id"] == account["id"] for e in p["entries"]) for p in postings)
    assert all(sum(Decimal(e["amount"]) for e in p["entries"]) == 0 for p in postings)
    # what the postings moved in and out is the balance (nothing before the first posting)
    assert sum(Decimal(p["amount"]) for p in postings) == Decimal(account["balance"])
    second, _ = (
        client.get(
            f"{API}/ledger/accounts/{account['id']}/postings", params={"limit": 1, "offset": 1}
        )
        .json()
        .values()
    )
    assert [p["id"] for p in second] == [postings[1]["id"]]
    page = client.get(f"/ledger/accounts/{account['id']}", headers={"Accept-Language": "es"})
    assert page.status_code == 200 and "Asientos" in page.text
    assert_translated(page.text, "es")
    listed = client.get("/ledger", headers={"Accept-Language": "es"})
    assert listed.status_code == 200 and "Saldo" in listed.text
    assert_translated(listed.text, "es")


# --- audit ----------------------------------------------------------------------------------


def test_matrix_of_the_audit_log(role_clients: dict[str, TestClient]) -> None:
    matrix.check(role_clients, "GET", f"{API}/audit", AUDIT_READERS)
    matrix.check(
        role_clients, "GET", f"{API}/audit?entity=agreements&limit=5&offset=1", AUDIT_READERS
    )
    check_page(role_clients, "GET", "/audit", AUDIT_READERS)
    check_page(role_clients, "GET", "/audit?entity=agreements", AUDIT_READERS)


def test_audit_paging_and_filters(role_clients: dict[str, TestClient]) -> None:
    client = role_clients["auditor"]
    first, total = client.get(f"{API}/audit", params={"limit": 5}).json().values()
    assert total > 5 and len(first) == 5
    ids = [e["id"] for e in first]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert all(e["user_name"] for e in first if e["user_id"])
    later, _ = client.get(f"{API}/audit", params={"limit": 5, "offset": 5}).json().values()
    assert later and later[0]["id"] < ids[-1]
    agreements, count = items(client, f"{API}/audit", entity="agreements")
    assert 0 < count < total and {e["entity"] for e in agreements} == {"agreements"}
    one = agreements[0]
    only, n = items(client, f"{API}/audit", entity="agreements", entity_id=one["entity_id"])
    assert n >= 1 and {e["entity_id"] for e in only} == {one["entity_id"]}
    assert only[-1]["after"]["product"]
    assert client.get(f"{API}/audit", params={"limit": 1001}).status_code == 422
    page = client.get(
        "/audit",
        params={"entity": "agreements", "entity_id": one["entity_id"]},
        headers={"Accept-Language": "es"},
    )
    assert page.status_code == 200
    assert "Registro de auditoría" in page.text or "auditoría" in page.text
    assert_translated(page.text, "es")


def test_entries_page_keeps_to_its_programme(settings: Any) -> None:
    """The paged service: another programme's entries are never listed or counted; entries()
    (its older callers) still answers oldest first."""
    database = Database(settings.database_url)
    with database.session() as session:
        owner = create_user(
            session, {"username": "uno", "display_name": "Uno", "password": "s3cret-pass"}
        )
        other = create_user(
            session, {"username": "dos", "display_name": "Dos", "password": "s3cret-pass"}
        )
        mine = create_programme(
            session, {"code": "P1", "name": "P1", "reporting_currency": "USD"}, owner
        )
        theirs = create_programme(
            session, {"code": "P2", "name": "P2", "reporting_currency": "USD"}, other
        )
        page = entries_page(mine, limit=1000)
        assert page.total == len(page.items) > 0
        assert {e.programme_id for e in page.items} == {mine.programme_id}
        assert [e.id for e in entries(mine)] == sorted(e.id for e in page.items)
        assert entries_page(theirs).total == len([e for e in entries(theirs)])
    database.dispose()
