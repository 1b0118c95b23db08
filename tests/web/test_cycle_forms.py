"""The two steps between the committee's approval and the first tranche, over the API and in
the page's forms: the PO's counterpart (``POST /subprojects/{id}/counterpart``) and the alliance
agreement (``POST /subprojects/{id}/agreement``).

The API's path runs on SQLite and PostgreSQL, each on a demo of this module's own (the writes
never reach the shared ``role_clients`` database); the page forms on SQLite. The permission
matrix of both routes is in test_cycle.py with the cycle's other moves."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import FormData

from alianza.platform.errors import Invalid
from alianza.settings import Settings
from alianza.web.app import create_app
from tests.web.conftest import copy_of
from tests.web.test_cycle import detail, in_state, tokens_clients

API = "/api/v1"
TODAY = date.today()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend_clients(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, TestClient]]:
    """A client per role on a copy of the full demo of this module's own, on each backend
    (PostgreSQL where ALIANZA_TEST_DATABASE_URL reaches a server: a copy dropped here)."""
    folder = tmp_path_factory.mktemp("cycle-forms")
    with copy_of(request, "full_demo", folder) as url:
        app = create_app(
            Settings(data_dir=folder, database_url=url, secret_key="test", default_locale="en")
        )
        yield tokens_clients(app)


def agreement_body(**changes: Any) -> dict[str, Any]:
    starts = TODAY
    body: dict[str, Any] = {
        "product": "parchment coffee",
        "unit": "qq",
        "quality_grades": ["A", "B"],
        "price_mechanism": "floor",
        "premium": "12.50",
        "floor_price": "2400.00",
        "grade_premiums": {"A": "150.00"},
        "payment_terms_days": 30,
        "buyer_ta_duties": "grading training each season",
        "signed_on": TODAY.isoformat(),
        "starts_on": starts.isoformat(),
        "ends_on": (starts + timedelta(days=365)).isoformat(),
        "schedule": [
            {
                "period_start": (starts + timedelta(days=120 * q)).isoformat(),
                "period_end": (starts + timedelta(days=120 * q + 119)).isoformat(),
                "quantity": f"{100 + 10 * q}.000",
            }
            for q in range(3)
        ],
    }
    body.update(changes)
    return body


def error_of(answer: Any) -> dict[str, Any]:
    return dict(answer.json()["error"])


def counterpart_steps(client: TestClient, subproject_id: int) -> dict[str, dict[str, Any]]:
    return {s["action"]: s for s in detail(client, subproject_id)["next_steps"]}


def test_counterpart_then_agreement_over_the_api(backend_clients: dict[str, TestClient]) -> None:
    manager = backend_clients["programme_manager"]
    approved = in_state(backend_clients, "approved")
    sid = approved["id"]
    shown = detail(manager, sid)
    plan = shown["latest_plan"]
    need_cash, need_kind = Decimal(plan["counterpart_cash"]), Decimal(plan["counterpart_in_kind"])
    assert need_cash > 0 and need_kind > 0
    offered = counterpart_steps(manager, sid)
    assert offered["counterpart"]["allowed"] and offered["counterpart"]["permission"] == (
        "counterpart.record"
    )
    assert "agreement" not in offered  # not before the counterpart is confirmed
    auditor = counterpart_steps(backend_clients["auditor"], sid)["counterpart"]
    assert auditor["refusal"]["permission"] == "counterpart.record"

    # bad input: 422, the field named, nothing posted
    path = f"{API}/subprojects/{sid}/counterpart"
    for body, field in [
        ({"kind": "cash", "amount": "0"}, "amount"),
        ({"kind": "cash", "amount": "10.001"}, "amount"),
        ({"kind": "gift", "amount": "10.00"}, "kind"),
        ({"amount": "10.00"}, "kind"),
    ]:
        answer = manager.post(path, json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert error_of(answer)["field"] == field, answer.text
    # an account the counterpart may not come from (the project's funds): 409, nothing posted
    funds = next(
        a["id"]
        for a in manager.get(f"{API}/ledger/accounts", params={"limit": 1000}).json()["items"]
        if a["kind"] == "project_funds"
    )
    answer = manager.post(path, json={"kind": "cash", "amount": "10.00", "from_account_id": funds})
    assert answer.status_code == 409 and error_of(answer)["code"] == "counterpart_cash_accounts"
    assert detail(manager, sid) == shown

    # the cash in two parts, the in-kind in one: each posted, the totals add up
    first = (need_cash / 3).quantize(Decimal("0.01"))
    paid = []
    for kind, amount in [("cash", first), ("cash", need_cash - first), ("in_kind", need_kind)]:
        answer = manager.post(
            path, json={"kind": kind, "amount": str(amount), "on": TODAY.isoformat()}
        )
        assert answer.status_code == 201, answer.text
        paid.append(answer.json())
    assert [Decimal(p["amount"]) for p in paid] == [first, need_cash - first, need_kind]
    assert Decimal(paid[-1]["paid_cash"]) == need_cash
    assert Decimal(paid[-1]["paid_in_kind"]) == need_kind
    assert Decimal(paid[0]["paid_cash"]) == first and Decimal(paid[0]["paid_in_kind"]) == 0
    assert (Decimal(paid[-1]["required_cash"]), Decimal(paid[-1]["required_in_kind"])) == (
        need_cash,
        need_kind,
    )
    assert len({p["posting_id"] for p in paid}) == 3
    accounts = manager.get(f"{API}/ledger/accounts", params={"limit": 1000}).json()["items"]
    organization = shown["organization_name"]
    balances = {a["name"]: Decimal(a["balance"]) for a in accounts}
    # the members' account was opened on first use and paid all three
    assert balances[f"{organization} members ({approved_currency(manager, shown)})"] == -(
        need_cash + need_kind
    )

    # the agreement waits for the counterpart's confirmation
    sign = f"{API}/subprojects/{sid}/agreement"
    answer = manager.post(sign, json=agreement_body())
    assert answer.status_code == 409 and error_of(answer)["code"] == "counterpart_before_agreement"
    confirmed = manager.post(f"{API}/subprojects/{sid}/counterpart/confirm", json={})
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "counterpart_paid"
    offered = counterpart_steps(manager, sid)
    assert offered["agreement"]["allowed"] and offered["agreement"]["to_state"] == (
        "agreement_signed"
    )
    assert "counterpart" not in offered
    refused = counterpart_steps(backend_clients["auditor"], sid)["agreement"]["refusal"]
    assert refused["permission"] == "agreements.sign"

    # terms that break the schema: 422 at the field, nothing signed
    before = detail(manager, sid)
    late = agreement_body()
    late["schedule"][2]["period_end"] = (TODAY + timedelta(days=400)).isoformat()
    backwards = agreement_body()
    backwards["schedule"][1]["period_end"] = backwards["schedule"][1]["period_start"]
    backwards["schedule"][1]["period_start"] = backwards["schedule"][2]["period_start"]
    for body, field in [
        (agreement_body(price_mechanism="fixed"), "fixed_price"),
        (agreement_body(price_mechanism="auction"), "price_mechanism"),
        (agreement_body(floor_price=None), "floor_price"),
        (agreement_body(ends_on=TODAY.isoformat()), "ends_on"),
        (agreement_body(grade_premiums={"C": "1.00"}), "grade_premiums"),
        (agreement_body(schedule=[]), "schedule"),
        (late, "schedule"),
        (backwards, "schedule[1]"),
        (agreement_body(payment_terms_days=400), "payment_terms_days"),
    ]:
        answer = manager.post(sign, json=body)
        assert answer.status_code == 422, (field, answer.text)
        assert error_of(answer)["field"] == field, answer.text
    assert "period 3" in manager.post(sign, json=late).json()["error"]["message"]
    assert detail(manager, sid) == before

    signed = manager.post(sign, json=agreement_body())
    assert signed.status_code == 201, signed.text
    agreement = signed.json()
    assert agreement["subproject_id"] == sid and agreement["price_mechanism"] == "floor"
    assert agreement["grade_premiums"] == {"A": "150.00"}
    assert agreement["currency"] == approved_currency(manager, shown)
    assert [Decimal(p["scheduled"]) for p in agreement["schedule"]] == [
        Decimal("100"),
        Decimal("110"),
        Decimal("120"),
    ]
    after = detail(manager, sid)
    assert after["state"] == "agreement_signed" and after["agreement_id"] == agreement["id"]
    assert after["history"][-1]["to_state"] == "agreement_signed"
    read = manager.get(f"{API}/agreements/{agreement['id']}")
    assert read.status_code == 200 and read.json()["schedule"] == agreement["schedule"]
    # signed once: a second agreement is refused by the cycle
    again = manager.post(sign, json=agreement_body())
    assert again.status_code == 409 and error_of(again)["code"] == "counterpart_before_agreement"


def approved_currency(client: TestClient, shown: dict[str, Any]) -> str:
    return str(client.get(f"{API}/calls/{shown['call_id']}").json()["currency"])


# --- the agreement form's rows --------------------------------------------------------------

ROW = st.tuples(
    st.sampled_from(["", "2025-01-01", "2025-03-31"]),
    st.sampled_from(["", "2025-06-30"]),
    st.sampled_from(["", "10", "2,5", "x"]),
)


@given(st.lists(ROW, min_size=1, max_size=10))
def test_the_form_keeps_the_rows_entered_in_order(rows: list[tuple[str, str, str]]) -> None:
    """Empty rows are left out; every other row is kept, in order, with its form row."""
    from alianza.web.pages.cycle import agreement_terms

    form = FormData(
        [("grade", "A"), ("grade_premium", "")]
        + [
            (name, value)
            for start, end, quantity in rows
            for name, value in (
                ("period_start", start),
                ("period_end", end),
                ("quantity", quantity),
            )
        ]
    )
    entered = [i for i, row in enumerate(rows) if any(row)]
    incomplete = {
        f"schedule[{i}].{name}"
        for i in entered
        for name, value in zip(("period_start", "period_end", "quantity"), rows[i], strict=True)
        if not value
    }
    if incomplete:
        with pytest.raises(Invalid) as refused:
            agreement_terms(form)
        assert {p.field for p in refused.value.problems} == incomplete
        return
    terms, kept = agreement_terms(form)
    assert kept == entered
    assert [(p["period_start"], p["period_end"]) for p in terms["schedule"]] == [
        rows[i][:2] for i in entered
    ]
    assert [p["quantity"] for p in terms["schedule"]] == [
        rows[i][2].replace(",", ".") for i in entered
    ]
    assert terms["quality_grades"] == ["A"] and terms["grade_premiums"] == {}


# --- the page's forms (SQLite) --------------------------------------------------------------


@pytest.fixture(scope="module")
def page_clients(
    full_demo_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, TestClient]:
    folder = tmp_path_factory.mktemp("cycle-forms-pages")
    database = folder / "alianza.db"
    shutil.copy(full_demo_template, database)
    app = create_app(
        Settings(
            data_dir=folder,
            database_url=f"sqlite:///{database}",
            secret_key="test",
            default_locale="en",
        )
    )
    return tokens_clients(app)


def form_of(schedule: list[tuple[str, str, str]], **fields: str) -> dict[str, Any]:
    """The agreement form as a browser posts it (8 period rows, 3 grade rows)."""
    rows = schedule + [("", "", "")] * (8 - len(schedule))
    data: dict[str, Any] = {
        "product": "cacao",
        "unit": "kg",
        "grade": ["A", "B", ""],
        "grade_premium": ["0.20", "", ""],
        "price_mechanism": "fixed",
        "fixed_price": "3.10",
        "premium": "",
        "floor_price": "",
        "payment_terms_days": "15",
        "buyer_ta_duties": "fermentation training",
        "signed_on": TODAY.isoformat(),
        "starts_on": TODAY.isoformat(),
        "ends_on": (TODAY + timedelta(days=180)).isoformat(),
        "period_start": [r[0] for r in rows],
        "period_end": [r[1] for r in rows],
        "quantity": [r[2] for r in rows],
    }
    data.update(fields)
    return data


def test_the_page_records_the_counterpart_and_signs(page_clients: dict[str, TestClient]) -> None:
    manager = page_clients["programme_manager"]
    sid = in_state(page_clients, "approved")["id"]
    page = manager.get(f"/subprojects/{sid}").text
    assert f'action="/subprojects/{sid}/counterpart"' in page
    assert "Paid so far:" in page and 'id="agreement-form"' not in page
    # a bad amount: the page again at 422, the error at the amount, the entry kept
    answer = manager.post(
        f"/subprojects/{sid}/counterpart",
        data={"kind": "cash", "amount": "-5", "on": TODAY.isoformat()},
    )
    assert answer.status_code == 422
    assert 'id="error-counterpart-amount"' in answer.text and 'value="-5"' in answer.text
    shown = detail(manager, sid)
    plan = shown["latest_plan"]
    for kind, amount in [
        ("cash", plan["counterpart_cash"]),
        ("in_kind", plan["counterpart_in_kind"]),
    ]:
        answer = manager.post(
            f"/subprojects/{sid}/counterpart",
            data={"kind": kind, "amount": amount.replace(".", ","), "on": TODAY.isoformat()},
            follow_redirects=False,
        )
        assert answer.status_code == 303 and answer.headers["location"].endswith(
            "?done=counterpart"
        )
    assert "Counterpart contribution recorded." in manager.get(answer.headers["location"]).text
    answer = manager.post(
        f"/subprojects/{sid}/counterpart/confirm",
        data={"on": TODAY.isoformat()},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    page = manager.get(f"/subprojects/{sid}").text
    assert 'id="agreement-form"' in page and page.count('name="period_start"') == 8
    # the auditor sees the step, refused, without a form
    refused = page_clients["auditor"].get(f"/subprojects/{sid}").text
    assert "Your role does not have the permission “agreements.sign”." in refused
    assert 'id="agreement-form"' not in refused

    day = TODAY.isoformat
    first = (TODAY.isoformat(), (TODAY + timedelta(days=59)).isoformat(), "500")
    # a period entered in the form's 3rd row (the 2nd left empty) with a bad quantity: the
    # error shows at that row's field, every entry kept
    bad = form_of([first, ("", "", ""), (day(), (TODAY + timedelta(days=90)).isoformat(), "0")])
    answer = manager.post(f"/subprojects/{sid}/agreement", data=bad)
    assert answer.status_code == 422, answer.text[:500]
    assert 'id="error-agreement-schedule-2-quantity"' in answer.text
    assert re.search(
        r'id="agreement-quantity-2"[^>]*value="0"[^>]*aria-invalid="true"', answer.text
    )
    assert ">fermentation training</textarea>" in answer.text
    assert "schedule[2].quantity" in answer.text  # the flash names the field at its form row
    # a period outside the agreement, and a fixed price missing: each at its field
    late = form_of([first, (day(), (TODAY + timedelta(days=400)).isoformat(), "5")], fixed_price="")
    answer = manager.post(f"/subprojects/{sid}/agreement", data=late)
    assert answer.status_code == 422
    assert 'id="error-agreement-fixed_price"' in answer.text
    assert 'id="error-agreement-schedule"' in answer.text and "period 2" in answer.text
    # a premium without its grade
    nameless = form_of([first], grade=["A", "", ""], grade_premium=["", "0.30", ""])
    answer = manager.post(f"/subprojects/{sid}/agreement", data=nameless)
    assert answer.status_code == 422 and 'id="error-agreement-grade-1"' in answer.text
    # more rows: the form again, every entry kept, with four more period rows (or two more
    # grade rows); nothing signed
    answer = manager.post(
        f"/subprojects/{sid}/agreement", data={**form_of([first]), "more": "periods"}
    )
    assert answer.status_code == 200 and answer.text.count('name="period_start"') == 12
    assert f'id="agreement-period-start-0" name="period_start" type="date" value="{first[0]}"' in (
        answer.text
    )
    assert answer.text.count('name="grade"') == 3 and ">fermentation training</textarea>" in (
        answer.text
    )
    answer = manager.post(
        f"/subprojects/{sid}/agreement", data={**form_of([first]), "more": "grades"}
    )
    assert answer.status_code == 200 and answer.text.count('name="grade"') == 5
    # a refused form of twelve rows is shown again with its twelve rows, the error at the 11th
    twelve = form_of([first])
    for name, value in zip(
        ("period_start", "period_end", "quantity"),
        (day(), (TODAY + timedelta(days=90)).isoformat(), "0"),
        strict=True,
    ):
        twelve[name] = twelve[name] + [""] * 3 + [value]
    answer = manager.post(f"/subprojects/{sid}/agreement", data=twelve)
    assert answer.status_code == 422 and answer.text.count('name="period_start"') == 12
    assert 'id="error-agreement-schedule-11-quantity"' in answer.text
    assert detail(manager, sid)["state"] == "counterpart_paid"

    good = form_of(
        [
            first,
            ("", "", ""),
            (
                (TODAY + timedelta(days=60)).isoformat(),
                (TODAY + timedelta(days=179)).isoformat(),
                "750,5",
            ),
        ]
    )
    # the form offers the programme's technical-assistance providers
    page = manager.get(f"/subprojects/{sid}").text
    providers = re.findall(
        r'<option value="(\d+)">([^<]+)</option>',
        page.split('id="agreement-support_organization_id"')[1].split("</select>")[0],
    )
    assert providers, "no technical-assistance provider offered"
    good["support_organization_id"] = providers[0][0]
    answer = manager.post(f"/subprojects/{sid}/agreement", data=good, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=agreement")
    after = detail(manager, sid)
    assert after["state"] == "agreement_signed"
    agreement = manager.get(f"{API}/agreements/{after['agreement_id']}").json()
    assert [Decimal(p["scheduled"]) for p in agreement["schedule"]] == [
        Decimal("500"),
        Decimal("750.5"),
    ]
    assert agreement["grade_premiums"] == {"A": "0.20"} and agreement["quality_grades"] == [
        "A",
        "B",
    ]
    assert agreement["fixed_price"] == "3.10" and agreement["payment_terms_days"] == 15
    assert agreement["support_organization_id"] == int(providers[0][0])
