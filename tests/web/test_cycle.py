"""The cycle's pages and API: calls, the pipeline, a subproject and its transitions.

Reads run on the shared demo (``role_clients``: SQLite and PostgreSQL). The shared demo's POs
are small (its profiles all end ineligible), so the transitions run on a demo of this module
seeded with POs large enough for every state of the cycle (``cycle_clients``, SQLite)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alianza.problems import Message
from tests.web import matrix
from tests.web.conftest import DEMO_PASSWORD, ROLE_USERS
from tests.web.translation import assert_translated

READERS = {
    "administrator",
    "programme_manager",
    "evaluator",
    "field_officer",
    "po_representative",
    "lender",
    "auditor",
}  # cycle.read
EVERYONE = set(matrix.ROLES)
MANAGERS = {"administrator", "programme_manager"}
# Agreement terms valid in themselves: a refusal is the cycle's (the subproject's state).
AGREEMENT: dict[str, Any] = {
    "product": "coffee",
    "unit": "qq",
    "quality_grades": ["A"],
    "price_mechanism": "fixed",
    "fixed_price": "2500.00",
    "payment_terms_days": 30,
    "signed_on": date.today().isoformat(),
    "starts_on": date.today().isoformat(),
    "ends_on": date.fromordinal(date.today().toordinal() + 365).isoformat(),
    "schedule": [
        {
            "period_start": date.today().isoformat(),
            "period_end": date.fromordinal(date.today().toordinal() + 90).isoformat(),
            "quantity": "100",
        }
    ],
}
AGREEMENT_FORM: dict[str, Any] = {
    **{k: str(v) for k, v in AGREEMENT.items() if k not in ("quality_grades", "schedule")},
    "grade": ["A"],
    "grade_premium": [""],
    "period_start": [AGREEMENT["schedule"][0]["period_start"]],
    "period_end": [AGREEMENT["schedule"][0]["period_end"]],
    "quantity": ["100"],
}


def tokens_clients(app: Any) -> dict[str, TestClient]:
    clients = {}
    with TestClient(app, raise_server_exceptions=False) as anonymous:
        for role, username in ROLE_USERS.items():
            answer = anonymous.post(
                "/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            client = TestClient(app, raise_server_exceptions=False)
            client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
            clients[role] = client
    return clients


@pytest.fixture(scope="module")
def cycle_clients(
    full_demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, TestClient]]:
    from alianza.settings import Settings
    from alianza.web.app import create_app

    folder = tmp_path_factory.mktemp("cycle-data")
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
    yield tokens_clients(app)


def listing(client: TestClient, **query: Any) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/subprojects", params={"limit": 1000, **query})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == len(body["items"])
    return list(body["items"])


def in_state(clients: dict[str, TestClient], state: str, index: int = 0) -> dict[str, Any]:
    return listing(clients["administrator"], state=state)[index]


def detail(client: TestClient, subproject_id: int) -> dict[str, Any]:
    answer = client.get(f"/api/v1/subprojects/{subproject_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def page_check(
    clients: dict[str, TestClient],
    method: str,
    path: str,
    allowed: set[str],
    refused: set[int] | None = None,
    **request: Any,
) -> None:
    """matrix.check for pages: the refusal is an HTML page, not the API's JSON body."""
    for role in matrix.ROLES:
        answer = clients[role].request(method, path, follow_redirects=False, **request)
        if role in allowed:
            assert answer.status_code not in {401, 403, 404, 500}, (role, path, answer.text[:500])
        else:
            assert answer.status_code in (refused or {403}), (role, path, answer.status_code)


# --- reads on the shared demo (both backends) -----------------------------------------------


def test_read_endpoints_matrix(role_clients: dict[str, TestClient]) -> None:
    calls = role_clients["administrator"].get("/api/v1/calls").json()
    assert calls["total"] == 3 and {c["code"] for c in calls["items"]} >= {"HN-2023-1"}
    call_id = calls["items"][0]["id"]
    matrix.check(role_clients, "GET", "/api/v1/calls", EVERYONE)
    matrix.check(role_clients, "GET", f"/api/v1/calls/{call_id}", EVERYONE)
    matrix.check(role_clients, "GET", "/api/v1/subprojects", READERS)
    page_check(role_clients, "GET", "/calls", EVERYONE)
    page_check(role_clients, "GET", f"/calls/{call_id}", EVERYONE)
    page_check(role_clients, "GET", "/subprojects", READERS)
    page_check(role_clients, "GET", "/subprojects?view=list", READERS)
    own = listing(role_clients["po_representative"])[0]["id"]
    seeing = {role for role in READERS if own in {s["id"] for s in listing(role_clients[role])}}
    assert {"administrator", "programme_manager", "auditor", "po_representative"} <= seeing
    matrix.check(
        role_clients, "GET", f"/api/v1/subprojects/{own}", seeing, refused_status={403, 404}
    )
    page_check(role_clients, "GET", f"/subprojects/{own}", seeing, refused={403, 404})


def test_a_po_sees_only_its_own_subprojects(role_clients: dict[str, TestClient]) -> None:
    everything = listing(role_clients["administrator"])
    mine = listing(role_clients["po_representative"])
    assert mine and len(mine) < len(everything)
    organizations = {s["organization_id"] for s in mine}
    assert len(organizations) == 1
    others = [s for s in everything if s["organization_id"] not in organizations]
    other = others[0]
    po = role_clients["po_representative"]
    assert po.get(f"/api/v1/subprojects/{other['id']}").status_code == 404
    assert po.get(f"/subprojects/{other['id']}").status_code == 404
    assert listing(po, organization_id=other["organization_id"]) == []
    board = po.get("/subprojects").text
    for subproject in others:
        assert f'/subprojects/{subproject["id"]}"' not in board
    # counted nowhere either: the call page counts only what the PO sees
    call = po.get(f"/api/v1/calls/{mine[0]['call_id']}").json()
    assert sum(call["subprojects_by_state"].values()) == len(
        [s for s in mine if s["call_id"] == mine[0]["call_id"]]
    )
    assert role_clients["buyer"].get("/api/v1/calls/1").json()["subprojects_by_state"] is None


def test_pages_in_spanish(role_clients: dict[str, TestClient]) -> None:
    client = role_clients["programme_manager"]
    spanish = {"Accept-Language": "es"}
    some = listing(client)
    paths = [
        "/calls",
        f"/calls/{some[0]['call_id']}",
        "/subprojects",
        "/subprojects?view=list",
        *(f"/subprojects/{s['id']}" for s in some[:3]),
    ]
    for path in paths:
        answer = client.get(path, headers=spanish)
        assert answer.status_code == 200, path
        assert_translated(answer.text, "es")


def test_an_ineligible_subprojects_note_is_said_in_the_readers_language(
    role_clients: dict[str, TestClient], demo_url: str
) -> None:
    """The note the system wrote of the move (every eligibility rule broken, each reason a
    Message) is said by the API and the page in the reader's language."""
    from markupsafe import escape

    from alianza.platform.db import Database
    from alianza.platform.subprojects.models import StateChange
    from alianza.web import i18n

    client = role_clients["programme_manager"]
    sub = listing(client, state="ineligible")[0]["id"]
    database = Database(demo_url)
    try:
        with database.sessions() as session:
            change = (
                session.query(StateChange).filter_by(subproject_id=sub, to_state="ineligible").one()
            )
            assert change.note_parts is not None
            written = Message(
                change.note_parts["template"],
                **change.translatable_note.variables,  # type: ignore[attr-defined]
            )
            english = change.note
    finally:
        database.dispose()
    assert written == english
    said = written.say("es", i18n.translations("es").gettext)
    assert said != english  # its reasons' templates are in the Spanish catalogue
    history = detail(client, sub)["history"]
    assert history[-1]["note"] == english
    spanish = client.get(f"/api/v1/subprojects/{sub}", headers={"Accept-Language": "es"})
    assert spanish.json()["history"][-1]["note"] == said
    page = client.get(f"/subprojects/{sub}", headers={"Accept-Language": "es"}).text
    assert str(escape(said)) in page
    assert str(escape(english)) not in page


# --- the cycle on the full demo -------------------------------------------------------------


def test_transition_endpoints_matrix(cycle_clients: dict[str, TestClient]) -> None:
    """Every move as every role: a role without the permission 403, one with it reaches the
    rule (409: each move is tried where the cycle refuses it, so nothing changes)."""
    ineligible = in_state(cycle_clients, "ineligible")["id"]
    closed = in_state(cycle_clients, "post_project_monitoring")["id"]
    own = listing(cycle_clients["po_representative"])[0]
    today = date.today().isoformat()
    funds = 1  # any id: the state is checked first
    moves: list[tuple[str, dict[str, Any], set[str]]] = [
        (f"/subprojects/{ineligible}/eligibility", {"on": today}, MANAGERS),
        (f"/subprojects/{ineligible}/evaluation", {"on": today}, MANAGERS),
        (
            f"/subprojects/{ineligible}/scores",
            {"criterion": "market", "score": 50},
            MANAGERS | {"evaluator"},
        ),
        (f"/subprojects/{ineligible}/decision", {"outcome": "approved", "on": today}, MANAGERS),
        (
            f"/subprojects/{ineligible}/counterpart",
            {"kind": "cash", "amount": "10.00", "on": today},
            MANAGERS,  # counterpart.record
        ),
        (f"/subprojects/{ineligible}/counterpart/confirm", {"on": today}, MANAGERS),
        (
            f"/subprojects/{ineligible}/tranches",
            {"tranches": [{"amount": "10.00", "milestone": "built"}]},
            MANAGERS,
        ),
        (f"/subprojects/{ineligible}/agreement", AGREEMENT, MANAGERS),  # agreements.sign
        (
            f"/subprojects/{ineligible}/tranches/1/release",
            {"on": today, "from_account_id": funds},
            MANAGERS,
        ),
        (f"/subprojects/{closed}/tranches/1/verify", {"on": today}, MANAGERS),
        (f"/subprojects/{closed}/complete", {"on": today}, MANAGERS),
        (f"/subprojects/{closed}/monitoring", {"on": today}, MANAGERS),
    ]
    for path, body, allowed in moves:
        # the evaluator's scope is the subprojects assigned: others look absent
        matrix.check(
            cycle_clients,
            "POST",
            f"/api/v1{path}",
            allowed - {"evaluator"},
            refused_status={403, 404},
            json=body,
        )
        for role in allowed - {"evaluator"}:
            answer = cycle_clients[role].post(f"/api/v1{path}", json=body)
            assert answer.status_code == 409, (role, path, answer.text)
    assigned = listing(cycle_clients["evaluator"])[0]["id"]
    answer = cycle_clients["evaluator"].post(
        f"/api/v1/subprojects/{assigned}/scores",
        json={"criterion": "no such criterion", "score": 5},
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "scoring_sheet"
    # justifying: the PO's representative and the field officer, each within their scope
    blank = {"evidence": " ", "on": today}
    matrix.check(
        cycle_clients,
        "POST",
        f"/api/v1/subprojects/{own['id']}/tranches/1/justify",
        MANAGERS | {"po_representative"},
        refused_status={403, 404},
        json=blank,
    )
    officer = listing(cycle_clients["field_officer"], state="in_execution")[0]["id"]
    answer = cycle_clients["field_officer"].post(
        f"/api/v1/subprojects/{officer}/tranches/1/justify", json=blank
    )
    assert answer.status_code == 409, answer.text
    # submitting a profile and a plan: the applicant must be the actor's own PO
    body = {
        "call_id": own["call_id"],
        "organization_id": own["organization_id"],
        "buyer_id": own["buyer_id"],
        "title": "x",
        "value_chain": "coffee",
        "families": 30,
        "buyer_letter_of_interest": True,
        "submitted_on": "1990-01-01",
    }
    matrix.check(
        cycle_clients,
        "POST",
        "/api/v1/subprojects",
        MANAGERS | {"po_representative"},
        refused_status={403, 404},
        json=body,
    )
    plan = {"plan": {"currency": "HNL"}}
    matrix.check(
        cycle_clients,
        "POST",
        f"/api/v1/subprojects/{own['id']}/plans",
        MANAGERS | {"po_representative"},
        refused_status={403, 404},
        json=plan,
    )


def test_page_forms_matrix(cycle_clients: dict[str, TestClient]) -> None:
    ineligible = in_state(cycle_clients, "ineligible")["id"]
    closed = in_state(cycle_clients, "post_project_monitoring")["id"]
    today = date.today().isoformat()
    forms = [
        (f"/subprojects/{ineligible}/eligibility", {"on": today}, MANAGERS),
        (f"/subprojects/{ineligible}/evaluation", {"on": today}, MANAGERS),
        (f"/subprojects/{ineligible}/scores", {"criterion": "market", "score": "50"}, MANAGERS),
        (f"/subprojects/{ineligible}/decision", {"outcome": "rejected", "on": today}, MANAGERS),
        (
            f"/subprojects/{ineligible}/counterpart",
            {"kind": "cash", "amount": "10", "on": today},
            MANAGERS,
        ),
        (f"/subprojects/{ineligible}/counterpart/confirm", {"on": today}, MANAGERS),
        (f"/subprojects/{ineligible}/tranches", {"amount": "10", "milestone": "x"}, MANAGERS),
        (f"/subprojects/{ineligible}/agreement", AGREEMENT_FORM, MANAGERS),
        (
            f"/subprojects/{ineligible}/tranches/1/release",
            {"on": today, "from_account_id": "1"},
            MANAGERS,
        ),
        (f"/subprojects/{closed}/tranches/1/justify", {"on": today, "evidence": "x"}, MANAGERS),
        (f"/subprojects/{closed}/tranches/1/verify", {"on": today}, MANAGERS),
        (f"/subprojects/{closed}/complete", {"on": today}, MANAGERS),
        (f"/subprojects/{closed}/monitoring", {"on": today}, MANAGERS),
    ]
    for path, form, allowed in forms:
        page_check(cycle_clients, "POST", path, allowed, refused={403, 404}, data=form)
        answer = cycle_clients["programme_manager"].post(path, data=form)
        assert answer.status_code == 409, (path, answer.text[:300])
        assert 'class="flash flash-error"' in answer.text


def test_next_steps_say_why(cycle_clients: dict[str, TestClient]) -> None:
    evaluating = in_state(cycle_clients, "under_evaluation")["id"]
    manager = {
        (s["action"], s["outcome"] or s["criterion"]): s
        for s in detail(cycle_clients["programme_manager"], evaluating)["next_steps"]
    }
    assert manager[("decision", "rejected")]["allowed"]
    assert {("score", c) for c in ("market", "technical", "organization", "inclusion")} <= set(
        manager
    )
    approve = manager[("decision", "approved")]
    if not approve["allowed"]:  # unscored: the rule that would refuse it
        assert approve["refusal"]["rule"] == "committee scores"
    auditor = detail(cycle_clients["auditor"], evaluating)["next_steps"]
    assert auditor and not any(s["allowed"] for s in auditor)
    assert {s["refusal"]["rule"] for s in auditor} == {"roles"}
    assert {s["refusal"]["permission"] for s in auditor} == {"cycle.score", "cycle.decide"}
    page = cycle_clients["auditor"].get(f"/subprojects/{evaluating}").text
    assert "Your role does not have the permission “cycle.decide”." in page
    assert "<form" not in page.split('id="next-steps"')[1].split("</section>")[0]
    approved = in_state(cycle_clients, "approved")["id"]
    confirm = next(
        s
        for s in detail(cycle_clients["programme_manager"], approved)["next_steps"]
        if s["action"] == "counterpart_confirm"
    )
    # the demo's approved plans have no counterpart paid yet
    assert (
        confirm["allowed"] is False and confirm["refusal"]["rule"] == "counterpart before agreement"
    )
    assert confirm["refusal"]["reason"].startswith("counterpart paid 0.00 cash / 0.00 in kind")
    # the reason said in the request's language, its amounts written for it
    spanish = cycle_clients["programme_manager"].get(
        f"/api/v1/subprojects/{approved}", headers={"Accept-Language": "es"}
    )
    reason = next(
        s["refusal"]["reason"]
        for s in spanish.json()["next_steps"]
        if s["action"] == "counterpart_confirm"
    )
    english = re.findall(r"\d[\d,]*\.\d\d", confirm["refusal"]["reason"])
    assert len(english) == 4  # paid cash, in kind, of the cash and the in kind needed
    for number in english:  # 12,345.50 -> 12.345,50
        amount = Decimal(number.replace(",", ""))
        assert Message("%(amount)s", amount=amount).say("es", lambda t: t) in reason
    assert reason != confirm["refusal"]["reason"]  # 0,00 cash, not 0.00


def test_a_subproject_through_the_cycle(cycle_clients: dict[str, TestClient]) -> None:
    manager = cycle_clients["programme_manager"]
    profile = in_state(cycle_clients, "profile_submitted")
    moved = manager.post(f"/api/v1/subprojects/{profile['id']}/eligibility", json={})
    assert moved.status_code == 200, moved.text
    assert moved.json()["state"] in ("eligible", "ineligible")
    history = detail(manager, profile["id"])["history"]
    assert (
        history[-1]["to_state"] == moved.json()["state"]
        and history[-1]["on"] == date.today().isoformat()
    )
    submitted = in_state(cycle_clients, "business_plan_submitted")["id"]
    answer = manager.post(
        f"/subprojects/{submitted}/evaluation",
        data={"on": date.today().isoformat()},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=evaluation")
    page = manager.get(answer.headers["location"]).text
    assert "The evaluation has started." in page and "Under evaluation" in page
    shown = detail(manager, submitted)
    assert shown["state"] == "under_evaluation"
    assert shown["latest_plan"]["indicators"]["npv"] is not None
    assert any(s["action"] == "score" for s in shown["next_steps"])
    # a score through the page, then it is no longer offered
    criterion = "market"
    answer = manager.post(
        f"/subprojects/{submitted}/scores",
        data={"criterion": criterion, "score": "75"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    shown = detail(manager, submitted)
    assert any(s["criterion"] == criterion and float(s["score"]) == 75 for s in shown["scores"])
    step = next(s for s in shown["next_steps"] if s["criterion"] == criterion)
    assert step["allowed"] is False and step["refusal"]["rule"] == "one score per member"


def test_a_refused_move_changes_nothing(cycle_clients: dict[str, TestClient]) -> None:
    manager = cycle_clients["programme_manager"]
    auditor = cycle_clients["auditor"]
    approved = in_state(cycle_clients, "approved")["id"]
    before = detail(manager, approved)
    trail = auditor.get(f"/subprojects/{approved}").text.count("<tr>")
    answer = manager.post(f"/api/v1/subprojects/{approved}/counterpart/confirm", json={})
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "counterpart_before_agreement"
    page = manager.post(
        f"/subprojects/{approved}/counterpart/confirm", data={"on": date.today().isoformat()}
    )
    assert page.status_code == 409
    assert "counterpart before the agreement" in page.text  # the rule, as people read it
    # a tranche plan that does not add up to the grant
    page = manager.post(
        f"/subprojects/{approved}/tranches",
        data={"amount": ["1.00", "2.00"], "milestone": ["a", "b"]},
    )
    assert page.status_code == 409 and "the tranches add up to the grant" in page.text
    after = detail(manager, approved)
    assert after == before
    assert auditor.get(f"/subprojects/{approved}").text.count("<tr>") == trail


def test_submit_a_profile_and_a_plan(cycle_clients: dict[str, TestClient]) -> None:
    from alianza.platform.demo.service import business_plan, with_financing

    manager = cycle_clients["programme_manager"]
    call = next(c for c in manager.get("/api/v1/calls").json()["items"] if c["code"] == "HN-2023-1")
    template = next(
        s
        for s in listing(manager, call_id=call["id"])
        if s["state"] in ("in_execution", "completed")
    )
    body = {
        "call_id": call["id"],
        "organization_id": template["organization_id"],
        "buyer_id": template["buyer_id"],
        "title": "Second alliance",
        "value_chain": "coffee",
        "families": 26,
        "buyer_letter_of_interest": True,
        "submitted_on": call["opens_on"],
    }
    made = manager.post("/api/v1/subprojects", json=body)
    assert made.status_code == 201, made.text
    subproject = made.json()
    assert subproject["state"] == "profile_submitted"
    eligible = manager.post(
        f"/api/v1/subprojects/{subproject['id']}/eligibility", json={"on": call["closes_on"]}
    ).json()
    if eligible["state"] != "eligible":
        pytest.skip(f"the PO's profile is {eligible['state']}")
    plan = with_financing(
        business_plan("Second alliance", "HNL", 26, 10, 16000, 1.05), "100000", "40000", "10000"
    )
    refused = manager.post(
        f"/api/v1/subprojects/{subproject['id']}/plans",
        json={"plan": plan, "grant": "100000.00"},  # figures beside the plan: refused
    )
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "grant"
    answer = manager.post(f"/api/v1/subprojects/{subproject['id']}/plans", json={"plan": plan})
    assert answer.status_code == 201, answer.text
    # grant, counterpart and credit are the plan's own
    assert (answer.json()["grant"], answer.json()["counterpart_in_kind"]) == (
        "100000.00",
        "10000.00",
    )
    assert answer.json()["version"] == 1
    shown = detail(manager, subproject["id"])
    assert shown["state"] == "business_plan_submitted"
    assert shown["latest_plan"]["indicators"]["npv"] == pytest.approx(float(answer.json()["npv"]))
    financing = shown["latest_plan"]["appraisal"]["financing"]
    assert financing["grants"] == 100000.0 and financing["counterpart_cash"] == 40000.0
    page = manager.get(f"/subprojects/{subproject['id']}").text
    assert "Appraisal of the business plan (version 1)" in page and "sensitivity-chart" in page


def test_audit_trail_only_with_audit_read(cycle_clients: dict[str, TestClient]) -> None:
    executing = listing(cycle_clients["po_representative"])[0]["id"]
    assert "Audit trail" in cycle_clients["auditor"].get(f"/subprojects/{executing}").text
    page = cycle_clients["po_representative"].get(f"/subprojects/{executing}").text
    assert "Audit trail" not in page and "State history" in page
    rows = re.findall(
        r"<code>(\w+) \d+</code>", cycle_clients["auditor"].get(f"/subprojects/{executing}").text
    )
    assert {"subprojects", "tranches", "plan_versions"} <= set(rows)
