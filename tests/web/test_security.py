"""Security headers on every kind of response: pages, API, static files, errors."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from alianza.web.security import CONTENT_SECURITY_POLICY

EXPECTED = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def test_the_policy_allows_no_inline_script_and_no_framing() -> None:
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/plans/appraise",
        "/docs",
        "/api/v1/openapi.json",
        "/static/app.css",
        "/static/app.js",
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/chartjs/chart.umd.js",
        "/no-such-page",
        "/api/v1/no-such-thing",
    ],
)
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (path, name)


def test_a_server_error_carries_them_too(app: FastAPI, client: TestClient) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    response = client.get("/boom")
    assert response.status_code == 500
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value


def test_pages_load_nothing_from_elsewhere_and_have_no_inline_script(client: TestClient) -> None:
    import re

    for path in ("/", "/plans/appraise", "/docs"):
        html = client.get(path).text
        for address in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not re.match(r"^(https?:)?//", address), (path, address)
        for script in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL):
            attributes, body = script
            assert "src=" in attributes or 'type="application/json"' in attributes, (path, script)
            if "src=" in attributes:
                assert not body.strip()


def test_the_language_cookie_is_secure_over_https_only(client: TestClient) -> None:
    plain = client.get("/language/es", follow_redirects=False)
    assert plain.status_code == 303
    assert "secure" not in plain.headers["set-cookie"].lower()
    secure = TestClient(client.app, base_url="https://testserver").get(
        "/language/es", follow_redirects=False
    )
    assert "secure" in secure.headers["set-cookie"].lower()


def test_the_language_switch_never_redirects_off_site(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.get("/language/fr", params={"next": target}, follow_redirects=False)
        assert response.headers["location"] == "/"
    kept = client.get("/language/fr", params={"next": "/plans/appraise"}, follow_redirects=False)
    assert kept.headers["location"] == "/plans/appraise"
