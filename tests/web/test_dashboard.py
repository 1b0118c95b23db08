"""The programme dashboard: page and API, who may see it, scopes, language, the home redirect."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from alianza.platform.access import Actor, act_as
from alianza.platform.errors import Forbidden
from alianza.platform.programmes.models import User
from alianza.platform.programmes.service import programmes_of
from alianza.web.api.dashboard import FiguresCache
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


def test_the_figures_cache_keeps_each_users_figures_for_its_seconds(demo_app: FastAPI) -> None:
    database = demo_app.state.open_database()
    moment = [0.0]
    cache = FiguresCache(30, clock=lambda: moment[0])
    day = date(2025, 6, 30)

    def actor_of(session: Session, username: str) -> Actor:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        return act_as(session, user.id, programmes_of(session, user.id)[0][0].id)

    with database.session() as session:
        manager, officer = actor_of(session, "gestora"), actor_of(session, "tecnico")
        first = cache.figures(manager, day)
        assert cache.figures(manager, day) is first
        moment[0] = 29.9
        assert cache.figures(manager, day) is first
        # another user's scope has its own figures, never the cached ones
        theirs = cache.figures(officer, day)
        assert theirs is not first
        assert sum(r.count for r in theirs.subprojects_by_state) < sum(
            r.count for r in first.subprojects_by_state
        )
        # the role is checked on every read, cached or not
        with pytest.raises(Forbidden):
            cache.figures(actor_of(session, "comprador"), day)
        moment[0] = 30.0
        again = cache.figures(manager, day)
        assert again is not first and again.computed_at > first.computed_at
        assert again.model_dump(exclude={"computed_at"}) == first.model_dump(
            exclude={"computed_at"}
        )
    with database.session() as session:  # 0 seconds: read on every request
        off = FiguresCache(0)
        manager = actor_of(session, "gestora")
        assert off.figures(manager, day) is not off.figures(manager, day)
