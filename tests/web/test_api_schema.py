"""The API against its own OpenAPI document (schemathesis): whatever is sent, no 500, and
every answer matches the document; every error has the one error body."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from alianza.web.app import create_app
from tests.conftest import migrate
from tests.web.conftest import add_micro_investing, seed_full_demo, settings_for


def _schema() -> schemathesis.BaseSchema:
    # Made at import (the operations must be known when tests are collected), on a migrated
    # SQLite file of its own.
    folder = Path(tempfile.mkdtemp(prefix="alianza-schema-"))
    database = folder / "alianza.db"
    migrate(f"sqlite:///{database}")
    seed_full_demo(f"sqlite:///{database}")  # real records behind the ids the cases draw
    add_micro_investing(f"sqlite:///{database}")
    app = create_app(settings_for(folder, database))
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app), app, folder, database


schema, _app, _folder, _database = _schema()


def _bearer() -> str:
    from fastapi.testclient import TestClient

    from tests.web.conftest import bearer_for

    with TestClient(_app) as client:
        return bearer_for(client, settings_for(_folder, _database), "schema")


BEARER = {"Authorization": f"Bearer {_bearer()}"}


@given(case=schema["/api/v1/plans/appraise"]["POST"].as_strategy())
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_appraisal_endpoint_keeps_its_contract(case: schemathesis.Case) -> None:
    response = case.call(headers=BEARER)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "field"}
    # A plan can match the format's JSON Schema and still break its rules (an own contribution
    # larger than the cost...): a 422 for a schema-valid body is right, not a failure.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])


# Every operation but the two whose own tests above and in test_auth.py cover them (appraisal:
# its own bounded run; token revocation: it would revoke this run's own token).
everything = schema.exclude(path_regex="^/api/v1/(plans/appraise|auth/tokens/)")


@everything.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_endpoint_fails_on_any_input(case: schemathesis.Case) -> None:
    """Whatever is sent, as an administrator: no server error, and every error has the body."""
    response = case.call(headers=BEARER)
    assert response.status_code < 500, (case.method, case.formatted_path, response.text)
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "field"}, response.text
