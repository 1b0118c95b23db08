"""The programme dashboard: page and API, who may see it, scopes, language, the home redirect."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.web import matrix
from tests.web.conftest import browser_sign_in
from tests.web.translation import assert_translated

READERS = ("administrator", "programme_manager", "field_officer", "lender", "auditor")


def test_permission_matrix(role_clients: dict[str, TestClient]) -> None:
    matrix.check(role_clients, "GET", "/api/v1/dashboard", READERS)
    check_page(role_clients, "/dashboard", READERS)


def check_page(role_clients: dict[str, TestClient], path: str, allowed: tuple[str, ...]) -> None:
    """matrix.check for a page: the refusal is an error page (HTML), not a JSON body."""
    for role in matrix.ROLES:
        answer = role_clients[role].get(path)
        if role in allowed:
            assert answer.status_code == 200, (role, path, answer.status_code)
        else:
            assert answer.status_code == 403, (role, path, answer.status_code)
            assert "error" in answer.text.lower()


def subprojects_total(client: TestClient) -> int:
    answer = client.get("/api/v1/dashboard", params={"on": "2025-06-30"})
    assert answer.status_code == 200, answer.text
    return sum(row["count"] for row in answer.json()["subprojects_by_state"])


def test_figures_are_scoped(role_clients: dict[str, TestClient]) -> None:
    """A field officer counts only their district's subprojects, a lender only theirs."""
    whole = subprojects_total(role_clients["programme_manager"])
    officer = subprojects_total(role_clients["field_officer"])
    lender = subprojects_total(role_clients["lender"])
    assert whole > 0
    assert 0 < officer < whole
    assert 0 < lender < whole
    assert subprojects_total(role_clients["auditor"]) == whole


def test_api_shape(role_clients: dict[str, TestClient]) -> None:
    body = (
        role_clients["programme_manager"]
        .get("/api/v1/dashboard", params={"on": "2025-06-30"})
        .json()
    )
    assert body["on"] == "2025-06-30"
    assert body["reporting_currency"] == "USD"
    assert len(body["subprojects_by_state"]) == 13  # every state, in the cycle's order
    assert body["subprojects_by_state"][0]["state"] == "profile_submitted"
    for row in body["inclusion_by_call"]:
        assert 0 <= float(row["women_share"]) <= 1
    assert set(body) >= {
        "grants_by_call",
        "sales_by_po_by_quarter",
        "alerts",
        "delayed_tranches",
        "balances_by_kind",
    }
    bad = role_clients["programme_manager"].get("/api/v1/dashboard", params={"on": "soon"})
    assert bad.status_code == 422


def test_page_draws_charts_with_tables(role_clients: dict[str, TestClient]) -> None:
    page = role_clients["programme_manager"].get("/dashboard?on=2025-06-30")
    assert page.status_code == 200, page.text
    assert 'id="chart-funnel"' in page.text and 'id="chart-inclusion"' in page.text
    assert page.text.count('class="chart-data"') >= 2
    assert "Download CSV" in page.text
    assert "Data table" in page.text


def test_page_in_spanish(role_clients: dict[str, TestClient]) -> None:
    page = role_clients["programme_manager"].get(
        "/dashboard?on=2025-06-30", headers={"Accept-Language": "es"}
    )
    assert page.status_code == 200
    assert "Panel del programa" in page.text or '<html lang="es"' in page.text
    assert_translated(page.text, "es")


def test_bad_date_shows_today(role_clients: dict[str, TestClient]) -> None:
    page = role_clients["programme_manager"].get("/dashboard?on=yesterday")
    assert page.status_code == 200
    assert 'role="alert"' in page.text


def test_home_sends_portfolio_readers_to_the_dashboard(demo_app: object) -> None:
    for username, goes in (("gestora", True), ("comprador", False)):
        with TestClient(demo_app) as client:  # type: ignore[arg-type]
            browser_sign_in(client, username)
            answer = client.get("/", follow_redirects=False)
            if goes:
                assert answer.status_code == 303
                assert answer.headers["location"].endswith("/dashboard")
            else:
                assert answer.status_code == 200
                assert re.search(r"<h1>", answer.text)
    with TestClient(demo_app) as anonymous:  # type: ignore[arg-type]
        assert anonymous.get("/", follow_redirects=False).status_code == 200
