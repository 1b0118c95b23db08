"""Every kind of error reaches the API as {"error": {"code", "message", "field"}} (plus all
the problems) with its status, and the pages as an error page; 500s never leak a traceback."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient

from alianza.platform.errors import Forbidden, Invalid, NotFound, Refused
from alianza.problems import Problem, ProblemError


@pytest.fixture
def failing(app: FastAPI) -> FastAPI:
    """Routes that raise each kind of error, under /api/v1/test and /test."""

    def kinds(prefix: str) -> None:
        @app.get(f"{prefix}/forbidden")
        def forbidden() -> None:
            raise Forbidden("the role lacks subproject.approve", rule="permission")

        @app.get(f"{prefix}/not-found")
        def not_found() -> None:
            raise NotFound("no subproject 7", field="subproject_id")

        @app.get(f"{prefix}/refused")
        def refused() -> None:
            raise Refused("tranche 2 before tranche 1", rule="tranche n+1 after tranche n")

        @app.get(f"{prefix}/invalid")
        def invalid() -> None:
            raise Invalid(
                "farmer",
                [Problem("phone", "not a phone number"), Problem("sex", "unknown", "choice")],
            )

        @app.get(f"{prefix}/problem-file")
        def problem_file() -> None:
            raise ProblemError("plan.yaml", [Problem("investments[3].life_years", "must be > 0")])

        @app.get(f"{prefix}/validated")
        def validated(limit: int = Query(ge=1)) -> dict[str, int]:
            return {"limit": limit}

        @app.get(f"{prefix}/crash")
        def crash() -> None:
            raise RuntimeError("Traceback secret: password=hunter2")

    kinds("/api/v1/test")
    kinds("/test")
    return app


@pytest.mark.parametrize(
    ("path", "status", "code", "field"),
    [
        ("forbidden", 403, "permission", None),
        ("not-found", 404, "not_found", "subproject_id"),
        ("refused", 409, "tranche_n_1_after_tranche_n", None),
        ("invalid", 422, "invalid", "phone"),
        ("problem-file", 422, "invalid", "investments[3].life_years"),
        ("validated?limit=0", 422, "greater_than_equal", "limit"),
        ("validated?limit=x", 422, "int_parsing", "limit"),
        ("validated", 422, "missing", "limit"),
        ("crash", 500, "internal_error", None),
    ],
)
def test_api_error_body(
    failing: FastAPI, client: TestClient, path: str, status: int, code: str, field: str | None
) -> None:
    response = client.get(f"/api/v1/test/{path}")
    assert response.status_code == status
    body = response.json()
    assert set(body) <= {"error", "problems"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code
    assert body["error"]["field"] == field
    assert body["error"]["message"]
    assert body["problems"][0] == body["error"]


def test_invalid_lists_every_problem(failing: FastAPI, client: TestClient) -> None:
    body = client.get("/api/v1/test/invalid").json()
    assert [p["field"] for p in body["problems"]] == ["phone", "sex"]


def test_unknown_routes_and_methods_have_the_error_body(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = client.get("/api/v1/plans/appraise")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_a_server_error_leaks_nothing(failing: FastAPI, client: TestClient) -> None:
    for path in ("/api/v1/test/crash", "/test/crash"):
        response = client.get(path)
        assert response.status_code == 500
        assert "hunter2" not in response.text
        assert "Traceback" not in response.text


def test_api_messages_are_translated(failing: FastAPI, client: TestClient) -> None:
    response = client.get("/api/v1/test/validated", headers={"Accept-Language": "es-CO,es;q=0.9"})
    assert response.json()["error"]["message"] == "Este campo es obligatorio."
    response = client.get("/api/v1/test/validated?limit=0", headers={"Accept-Language": "fr"})
    assert response.json()["error"]["message"] == "Doit être au moins 1."


@pytest.mark.parametrize(
    ("path", "status"),
    [("forbidden", 403), ("not-found", 404), ("refused", 409), ("invalid", 422), ("crash", 500)],
)
def test_pages_show_an_error_page_in_the_layout(
    failing: FastAPI, client: TestClient, path: str, status: int
) -> None:
    response = client.get(f"/test/{path}")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert '<header class="site-header">' in response.text
    if path == "invalid":
        assert "phone" in response.text and "not a phone number" in response.text


def test_a_missing_page_is_an_html_404(client: TestClient) -> None:
    response = client.get("/no/such/page", headers={"Accept-Language": "pt-BR"})
    assert response.status_code == 404
    assert "Não encontrado" in response.text
