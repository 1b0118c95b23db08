"""Sign-in, sessions, CSRF, bearer tokens, rate limits and disabled users, over HTTP."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from alianza.platform.db import Database
from alianza.platform.programmes.models import User
from alianza.settings import Settings
from alianza.web.auth import SESSION_COOKIE
from tests.web.conftest import browser_sign_in, csrf_of


def _user(settings: Settings, username: str = "ana", password: str = "s3cret-pass") -> None:
    from alianza.platform.programmes.service import create_programme, create_user

    database = Database(settings.database_url)
    with database.session() as session:
        user = create_user(
            session, {"username": username, "display_name": "Ana", "password": password}
        )
        create_programme(session, {"code": "P1", "name": "P", "reporting_currency": "USD"}, user)
    database.dispose()


def test_pages_need_a_session_and_the_api_a_token(client: TestClient) -> None:
    page = client.get("/plans/appraise", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/sign-in?next=")
    api = client.post("/api/v1/plans/appraise", json={})
    assert api.status_code == 401 and api.json()["error"]["code"] == "not_signed_in"


def test_sign_in_sets_a_safe_cookie_and_forms_need_the_csrf_token(
    client: TestClient, settings: Settings
) -> None:
    _user(settings)
    browser_sign_in(client, "ANA", "s3cret-pass")  # usernames regardless of case
    cookie = next(c for c in client.cookies.jar if c.name == SESSION_COOKIE)
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert client.get("/account").status_code == 200
    refused = client.post("/account/tokens", data={"name": "x"})  # no CSRF token
    assert refused.status_code == 409 and "did not come from this site" in refused.text
    made = client.post("/account/tokens", data={"name": "laptop", "csrf_token": csrf_of(client)})
    assert made.status_code == 200 and "alz_" in made.text
    client.post("/sign-out", data={"csrf_token": csrf_of(client)})
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_a_wrong_password_and_an_unknown_user_look_the_same(
    client: TestClient, settings: Settings
) -> None:
    _user(settings)
    timings = {}
    for username in ("ana", "nobody"):
        started = time.perf_counter()
        answer = client.post(
            "/api/v1/auth/token", data={"username": username, "password": "wrong-one"}
        )
        timings[username] = time.perf_counter() - started
        assert answer.status_code == 409
        assert answer.json()["error"]["message"] == "unknown user or wrong password"
    # both pay one argon2 verification: within a factor of three of each other
    assert max(timings.values()) < 3 * min(timings.values()) + 0.05


def test_failed_sign_ins_are_rate_limited(client: TestClient, settings: Settings) -> None:
    _user(settings)
    for _ in range(5):
        client.post("/api/v1/auth/token", data={"username": "ana", "password": "wrong-one"})
    blocked = client.post("/api/v1/auth/token", data={"username": "ana", "password": "s3cret-pass"})
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "sign_in_rate_limit"


def test_tokens_are_stored_hashed_and_revoked_by_their_user(
    client: TestClient, settings: Settings
) -> None:
    _user(settings)
    token = client.post(
        "/api/v1/auth/token", data={"username": "ana", "password": "s3cret-pass"}
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/auth/me", headers=bearer)
    assert me.status_code == 200 and me.json()["roles"][0]["role"] == "administrator"
    database = Database(settings.database_url)
    with database.session() as session:
        from alianza.platform.programmes.models import ApiToken

        assert token not in {t.token_hash for t in session.scalars(select(ApiToken))}
    database.dispose()
    listed = client.get("/api/v1/auth/tokens", headers=bearer).json()
    assert listed["total"] == 1
    revoked = client.delete(f"/api/v1/auth/tokens/{listed['items'][0]['id']}", headers=bearer)
    assert revoked.status_code == 200
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401


def test_a_disabled_user_is_signed_out_everywhere(client: TestClient, settings: Settings) -> None:
    _user(settings)
    token = client.post(
        "/api/v1/auth/token", data={"username": "ana", "password": "s3cret-pass"}
    ).json()["access_token"]
    browser_sign_in(client, "ana", "s3cret-pass")
    database = Database(settings.database_url)
    with database.session() as session:
        from alianza.platform.audit.service import now

        user = session.scalar(select(User).where(User.username == "ana"))
        assert user is not None
        user.disabled_at = now()
        user.session_epoch += 1
    database.dispose()
    assert client.get("/account", follow_redirects=False).status_code == 303
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_a_password_change_ends_other_sessions(client: TestClient, app, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    _user(settings)
    other = TestClient(app)
    browser_sign_in(other, "ana", "s3cret-pass")
    browser_sign_in(client, "ana", "s3cret-pass")
    changed = client.post(
        "/account/password",
        data={
            "current_password": "s3cret-pass",
            "new_password": "another-pass",
            "csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert client.get("/account").status_code == 200  # this browser got a fresh session
    assert other.get("/account", follow_redirects=False).status_code == 303
