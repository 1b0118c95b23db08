"""Users administration: only users.admin may list, create, change, revoke, disable or enable;
a refused change changes nothing; the page in Spanish; the `alianza users` command."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from alianza.cli import app as cli
from tests.web.matrix import ROLES, check
from tests.web.translation import assert_translated

ADMINS = {"administrator"}


def new_user(admin: TestClient, **role: Any) -> dict[str, Any]:
    body = {
        "username": f"u{uuid.uuid4().hex[:10]}",
        "display_name": "Test User",
        "password": "long-enough-1",
        "role": "auditor",
        **role,
    }
    answer = admin.post("/api/v1/users", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def usernames(admin: TestClient) -> set[str]:
    return {
        u["username"] for u in admin.get("/api/v1/users", params={"limit": 1000}).json()["items"]
    }


def organization_of(demo_url: str, kind: str) -> int:
    engine = create_engine(demo_url)
    with engine.connect() as connection:
        found = (
            connection.execute(
                text("SELECT id FROM organizations WHERE kind = :kind ORDER BY id"), {"kind": kind}
            )
            .scalars()
            .first()
        )
    engine.dispose()
    return int(found)


def test_only_administrators_administer_users(role_clients: dict[str, TestClient]) -> None:
    admin = role_clients["administrator"]
    check(role_clients, "GET", "/api/v1/users", ADMINS)
    check(
        role_clients,
        "POST",
        "/api/v1/users",
        ADMINS,
        json={
            "username": f"m{uuid.uuid4().hex[:10]}",
            "display_name": "Matrix",
            "password": "long-enough-1",
            "role": "auditor",
        },
    )
    target = new_user(admin)["id"]
    check(role_clients, "PUT", f"/api/v1/users/{target}/role", ADMINS, json={"role": "auditor"})
    check(role_clients, "POST", f"/api/v1/users/{target}/disable", ADMINS)
    check(role_clients, "POST", f"/api/v1/users/{target}/enable", ADMINS)
    check(role_clients, "DELETE", f"/api/v1/users/{target}/role", ADMINS)


def test_only_administrators_see_the_users_pages(role_clients: dict[str, TestClient]) -> None:
    admin = role_clients["administrator"]
    target = new_user(admin)["id"]
    for method, path, request in [
        ("GET", "/users", {}),
        ("GET", f"/users/{target}", {}),
        ("GET", "/users/scope-fields?role=buyer", {}),
        ("POST", f"/users/{target}/role", {"data": {"role": "auditor"}}),
        ("POST", f"/users/{target}/disable", {}),
        ("POST", f"/users/{target}/enable", {}),
        (
            "POST",
            "/users",
            {
                "data": {
                    "username": f"p{uuid.uuid4().hex[:10]}",
                    "display_name": "Page",
                    "password": "long-enough-1",
                    "role": "auditor",
                }
            },
        ),
        ("POST", f"/users/{target}/revoke", {}),
    ]:
        for role in ROLES:
            answer = role_clients[role].request(method, path, follow_redirects=False, **request)
            if role in ADMINS:
                assert answer.status_code in {200, 303}, (path, answer.text[:300])
            else:
                assert answer.status_code == 403, (role, path, answer.status_code)


def test_create_with_a_scope_and_list(role_clients: dict[str, TestClient], demo_url: str) -> None:
    admin = role_clients["administrator"]
    buyer = organization_of(demo_url, "buyer")
    made = new_user(admin, role="buyer", organization_id=buyer)
    assert made["scope"] == "buyer" and made["organization_id"] == buyer
    assert made["username"] in usernames(admin)
    page = admin.get("/users")
    assert made["username"] in page.text and "Buyer" in page.text
    places = admin.get("/api/v1/places", params={"kind": "district"}).json()["items"]
    officer = new_user(admin, role="field_officer", scope="places", place_ids=[places[0]["id"]])
    assert officer["place_ids"] == [places[0]["id"]]
    assert places[0]["name"] in admin.get(f"/users/{officer['id']}").text


def test_a_refused_creation_creates_nobody(
    role_clients: dict[str, TestClient], demo_url: str
) -> None:
    admin = role_clients["administrator"]
    po = organization_of(demo_url, "producer_organization")
    name = f"r{uuid.uuid4().hex[:10]}"
    # a buyer scoped to a producer organization: refused after the user row was made
    answer = admin.post(
        "/api/v1/users",
        json={
            "username": name,
            "display_name": "R",
            "password": "long-enough-1",
            "role": "buyer",
            "organization_id": po,
        },
    )
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["field"] == "organization_id"
    wrong_scope = admin.post(
        "/api/v1/users",
        json={
            "username": name,
            "display_name": "R",
            "password": "long-enough-1",
            "role": "auditor",
            "scope": "places",
        },
    )
    assert wrong_scope.status_code == 409
    short = admin.post(
        "/api/v1/users",
        json={"username": name, "display_name": "R", "password": "short", "role": "auditor"},
    )
    assert short.status_code == 422
    page = admin.post(
        "/users",
        data={
            "username": name,
            "display_name": "R",
            "password": "long-enough-1",
            "role": "buyer",
            "organization_id": str(po),
        },
    )
    assert page.status_code == 409
    assert name not in usernames(admin)
    # the name is still free: nothing of the refused attempts stayed
    assert new_user(admin, username=name)["username"] == name
    taken = admin.post(
        "/api/v1/users",
        json={
            "username": name.upper(),
            "display_name": "R",
            "password": "long-enough-1",
            "role": "auditor",
        },
    )
    assert taken.status_code == 409


def test_change_role_disable_enable_revoke(
    role_clients: dict[str, TestClient], demo_app: Any
) -> None:
    admin = role_clients["administrator"]
    made = new_user(admin, password="long-enough-2")
    changed = admin.put(f"/api/v1/users/{made['id']}/role", json={"role": "programme_manager"})
    assert changed.status_code == 200 and changed.json()["role"] == "programme_manager"
    with TestClient(demo_app, raise_server_exceptions=False) as anonymous:

        def token() -> int:
            return anonymous.post(
                "/api/v1/auth/token",
                data={"username": made["username"], "password": "long-enough-2"},
            ).status_code

        assert token() == 200
        assert admin.post(f"/api/v1/users/{made['id']}/disable").json()["disabled"] is True
        assert token() != 200
        assert admin.post(f"/api/v1/users/{made['id']}/enable").json()["disabled"] is False
        assert token() == 200
    assert admin.delete(f"/api/v1/users/{made['id']}/role").status_code == 204
    assert made["username"] not in usernames(admin)
    assert admin.delete(f"/api/v1/users/{made['id']}/role").status_code == 404


def test_an_administrator_keeps_their_own_role(role_clients: dict[str, TestClient]) -> None:
    admin = role_clients["administrator"]
    me = next(u for u in admin.get("/api/v1/users").json()["items"] if u["username"] == "admin")
    assert admin.delete(f"/api/v1/users/{me['id']}/role").status_code == 409
    assert admin.post(f"/api/v1/users/{me['id']}/disable").status_code == 409
    assert "admin" in usernames(admin)


def test_the_scope_fields_follow_the_role(role_clients: dict[str, TestClient]) -> None:
    admin = role_clients["administrator"]
    buyer = admin.get("/users/scope-fields", params={"role": "buyer"}).text
    assert 'value="buyer"' in buyer and 'value="alliance"' in buyer
    assert 'name="organization_id"' in buyer and 'name="place_ids"' not in buyer
    officer = admin.get("/users/scope-fields", params={"role": "field_officer"}).text
    assert 'name="place_ids"' in officer and 'value="organization"' not in officer


def test_the_users_pages_in_spanish(role_clients: dict[str, TestClient]) -> None:
    admin = role_clients["administrator"]
    made = new_user(admin, role="evaluator")
    for path in ("/users", f"/users/{made['id']}", "/users?done=created"):
        page = admin.get(path, headers={"Accept-Language": "es"})
        assert page.status_code == 200
        assert_translated(page.text, "es")
    assert "Crear un usuario" in admin.get("/users", headers={"Accept-Language": "es"}).text


def test_users_create_asks_for_the_password_twice(tmp_path: Path) -> None:
    url = ["--url", f"sqlite:///{tmp_path / 'u.db'}"]
    run = CliRunner().invoke
    assert run(cli, ["db", "upgrade", *url]).exit_code == 0
    made = run(
        cli,
        ["users", "create", "lucia", "--name", "Lucía", *url],
        input="long-password\nlong-password\n",
    )
    assert made.exit_code == 0, made.output
    assert "long-password" not in made.output  # hidden
    mismatch = run(
        cli,
        ["users", "create", "pedro", "--name", "Pedro", *url],
        input="long-password\nother-password\nlong-password\nlong-password\n",
    )
    assert mismatch.exit_code == 0, mismatch.output
    short = run(cli, ["users", "create", "rosa", "--name", "Rosa", *url], input="short\nshort\n")
    assert short.exit_code == 2 and "8" in short.output
    no_option = run(cli, ["users", "create", "x", "--name", "X", "--password", "p", *url])
    assert no_option.exit_code == 2
    listed = run(cli, ["users", "list", *url])
    assert listed.exit_code == 0 and "lucia" in listed.output and "pedro" in listed.output
    assert "rosa" not in listed.output
    help_text = run(cli, ["user", "add", "--help"]).output
    assert "--password" not in help_text
