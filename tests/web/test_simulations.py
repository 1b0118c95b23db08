"""Simulation pages and API: submit, follow, read, download, cancel; who may; bad scenarios.

The app never simulates: the tests run the worker in-process (``Worker.run_once``, no Dask)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alianza.platform.db import Database
from alianza.platform.jobs.config import JobsConfig
from alianza.platform.jobs.models import Job
from alianza.platform.jobs.worker import Worker
from alianza.problems import Message
from alianza.settings import Settings
from alianza.web import i18n
from alianza.web.pages.simulations import EXAMPLES, example_document
from tests.web import matrix
from tests.web.test_dashboard import check_page
from tests.web.translation import assert_translated

RUNNERS = ("administrator", "programme_manager", "field_officer")
SMALL = {"farmers": 200, "seasons": 3, "seed": 7}


def tiny_scenario() -> dict:
    return example_document(EXAMPLES / "reference.yaml")


def run_worker(settings: Settings) -> int | None:
    database = Database(settings.database_url)
    try:
        worker = Worker(database, config=JobsConfig(data_dir=settings.directory), local_workers=0)
        return worker.run_once()
    finally:
        database.dispose()


def test_permission_matrix(role_clients: dict[str, TestClient]) -> None:
    created = role_clients["administrator"].post(
        "/api/v1/simulations", json={"scenario": tiny_scenario(), "overrides": SMALL}
    )
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    matrix.check(role_clients, "GET", "/api/v1/simulations", RUNNERS)
    matrix.check(role_clients, "GET", f"/api/v1/simulations/{job_id}", RUNNERS)
    matrix.check(role_clients, "POST", "/api/v1/simulations", RUNNERS, json={"scenario": {}})
    # not finished: a 409 for those who may, 403 for the others
    matrix.check(role_clients, "GET", f"/api/v1/simulations/{job_id}/files/summary.json", RUNNERS)
    check_page(role_clients, "/simulations", RUNNERS)
    check_page(role_clients, f"/simulations/{job_id}", RUNNERS)
    check_page(role_clients, f"/simulations/{job_id}/status", RUNNERS)
    # cancelling: refused roles change nothing, then an allowed role cancels it
    for role in set(matrix.ROLES) - set(RUNNERS):
        assert role_clients[role].post(f"/api/v1/simulations/{job_id}/cancel").status_code == 403
    assert role_clients["administrator"].get(f"/api/v1/simulations/{job_id}").json()["state"] in (
        "queued",
        "running",
        "succeeded",
    )
    matrix.check(
        role_clients, "POST", f"/api/v1/simulations/{job_id}/cancel", RUNNERS
    )  # 200, then 409


def test_api_flow(user_client: TestClient, settings: Settings) -> None:
    answer = user_client.post(
        "/api/v1/simulations", json={"scenario": tiny_scenario(), "overrides": SMALL}
    )
    assert answer.status_code == 201, answer.text
    job = answer.json()
    assert job["state"] == "queued" and job["progress_total"] == 200
    assert run_worker(settings) == job["id"]
    done = user_client.get(f"/api/v1/simulations/{job['id']}").json()
    assert done["state"] == "succeeded", done["message"]
    assert done["progress"] == 1.0
    assert done["summary"]["farmers"] == 200
    names = {file["name"] for file in done["files"]}
    assert {"summary.json", "seasons.parquet", "income_fan.png"} <= names
    summary = user_client.get(f"/api/v1/simulations/{job['id']}/files/summary.json")
    assert summary.status_code == 200 and json.loads(summary.content)["seasons"] == 3
    png = user_client.get(f"/api/v1/simulations/{job['id']}/files/income_fan.png")
    assert png.headers["content-type"] == "image/png"
    for name in ("..%2Falianza.db", "nothing.parquet", "%2Fetc%2Fpasswd"):
        assert user_client.get(f"/api/v1/simulations/{job['id']}/files/{name}").status_code == 404
    listed = user_client.get("/api/v1/simulations", params={"limit": 1}).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == job["id"]
    # a finished job cannot be cancelled, and stays as it was
    assert user_client.post(f"/api/v1/simulations/{job['id']}/cancel").status_code == 409
    assert user_client.get(f"/api/v1/simulations/{job['id']}").json()["state"] == "succeeded"


def test_the_full_example_through_a_job(user_client: TestClient, settings: Settings) -> None:
    """Money, other income, a start date (a YAML date) and savings groups survive the job's
    JSON; the page shows the new figures and the workbook is a download."""
    scenario = example_document(EXAMPLES / "tanzania-districts.yaml")
    answer = user_client.post(
        "/api/v1/simulations",
        json={"scenario": json.loads(json.dumps(scenario, default=str)), "overrides": SMALL},
    )
    assert answer.status_code == 201, answer.text
    job_id = answer.json()["id"]
    assert run_worker(settings) == job_id
    done = user_client.get(f"/api/v1/simulations/{job_id}").json()
    assert done["state"] == "succeeded", done["message"]
    summary = done["summary"]
    assert summary["money"]["currency"] == "TZS" and summary["start_date"] == "2026-01-01"
    assert summary["poverty_line"]["ppp_per_person_day"] == 3.0
    names = {file["name"] for file in done["files"]}
    assert {"simulation.xlsx", "breakdown.parquet", "highest_rung.png"} <= names
    workbook = user_client.get(f"/api/v1/simulations/{job_id}/files/simulation.xlsx")
    assert workbook.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    page = user_client.get(f"/simulations/{job_id}/status")
    assert page.status_code == 200 and "Never bought a kit" in page.text


def test_multipart_upload_and_bad_scenario(user_client: TestClient, settings: Settings) -> None:
    text = (EXAMPLES / "reference.yaml").read_text()
    bad = user_client.post(
        "/api/v1/simulations",
        files={"file": ("s.yaml", text.encode())},
        data={"farmers": "0", "seasons": "two"},
    )
    assert bad.status_code == 422
    fields = {problem["field"] for problem in bad.json()["problems"]}
    assert "overrides.seasons" in fields
    broken = {**tiny_scenario(), "seasons": -1, "population": {"farmers": "many"}}
    answer = user_client.post("/api/v1/simulations", json={"scenario": broken})
    assert answer.status_code == 422
    problems = answer.json()["problems"]
    assert len(problems) >= 2 and all(problem["field"] for problem in problems), problems
    assert user_client.get("/api/v1/simulations").json()["total"] == 0  # nothing queued
    good = user_client.post(
        "/api/v1/simulations",
        files={"file": ("s.yaml", json.dumps(tiny_scenario()).encode())},
        data={"farmers": "150", "seasons": "2"},
    )
    assert good.status_code == 201, good.text
    assert good.json()["progress_total"] == 150


def test_pages_flow(user_client: TestClient, settings: Settings) -> None:
    form = user_client.get("/simulations")
    assert form.status_code == 200 and "reference.yaml" in form.text
    answer = user_client.post(
        "/simulations",
        data={"example": "reference.yaml", "farmers": "200", "seasons": "3", "seed": "5"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page_path = answer.headers["location"]
    queued = user_client.get(page_path)
    assert 'hx-trigger="every 2s"' in queued.text and "<progress" in queued.text
    job_id = int(page_path.rsplit("/", 1)[1])
    assert run_worker(settings) == job_id
    status = user_client.get(f"{page_path}/status")
    assert "hx-trigger" not in status.text  # finished: it stops polling
    assert status.text.count('class="chart-data"') == 4
    page = user_client.get(page_path)
    assert f"/simulations/{job_id}/files/seasons.parquet" in page.text
    assert user_client.get(f"/simulations/{job_id}/files/summary.json").status_code == 200
    assert user_client.get(f"/simulations/{job_id}/files/..%2F..%2Fx").status_code == 404
    spanish = user_client.get(page_path, headers={"Accept-Language": "es"})
    assert_translated(spanish.text, "es")
    assert_translated(user_client.get("/simulations", headers={"Accept-Language": "es"}).text, "es")


def test_page_shows_every_problem(user_client: TestClient) -> None:
    answer = user_client.post(
        "/simulations",
        data={"example": ""},
        files={"file": ("bad.yaml", b"name: x\nseasons: -2\n")},
    )
    assert answer.status_code == 422
    assert answer.text.count('class="field-path"') >= 2
    none = user_client.post("/simulations", data={"example": "nope.yaml"})
    assert none.status_code == 422 and 'class="field-path">example' in none.text


def test_cancel_from_the_page(user_client: TestClient, settings: Settings) -> None:
    created = user_client.post(
        "/api/v1/simulations", json={"scenario": tiny_scenario(), "overrides": SMALL}
    ).json()
    answer = user_client.post(f"/simulations/{created['id']}/cancel", follow_redirects=False)
    assert answer.status_code == 303
    assert user_client.get(f"/api/v1/simulations/{created['id']}").json()["state"] == "cancelled"
    assert run_worker(settings) is None  # a cancelled job never starts


def stored_message(settings: Settings, job_id: int) -> str:
    """The job's message as the database gives it back (the Message it was written as)."""
    database = Database(settings.database_url)
    try:
        with database.sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None
            return job.translatable_message
    finally:
        database.dispose()


def test_a_jobs_message_is_said_in_the_readers_language(
    user_client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Succeeded, cancelled or failed: the API and the page say the job's message in the
    reader's language, its template from the catalogue and its values written for the locale."""
    spanish = {"Accept-Language": "es"}
    gettext = i18n.translations("es").gettext
    done = user_client.post(
        "/api/v1/simulations", json={"scenario": tiny_scenario(), "overrides": SMALL}
    ).json()
    assert run_worker(settings) == done["id"]
    english = user_client.get(f"/api/v1/simulations/{done['id']}").json()["message"]
    said = stored_message(settings, done["id"])
    assert isinstance(said, Message) and said == english
    seconds = said.variables["seconds"]
    assert english == f"200 farmers x 3 seasons in {seconds} s"
    answer = user_client.get(f"/api/v1/simulations/{done['id']}", headers=spanish).json()
    assert answer["message"] == Message(said.template, **said.variables).say("es", gettext)
    assert f"{seconds}".replace(".", ",") in answer["message"]  # 0,4 s: a Spanish decimal
    listed = user_client.get("/api/v1/simulations", headers=spanish).json()["items"]
    assert listed[0]["message"] == answer["message"]

    cancelled = user_client.post(
        "/api/v1/simulations", json={"scenario": tiny_scenario(), "overrides": SMALL}
    ).json()
    answer = user_client.post(f"/api/v1/simulations/{cancelled['id']}/cancel", headers=spanish)
    assert answer.json()["message"] == Message("cancelled").say("es", gettext)

    # A failure, its template translated (the catalogue has none yet: a stand-in for it).
    from alianza.ladder import runner

    def broken(*_args: Any) -> Any:
        raise MemoryError("out of memory")

    monkeypatch.setattr(runner, "run_local", broken)
    failed = user_client.post(
        "/api/v1/simulations", json={"scenario": tiny_scenario(), "overrides": SMALL}
    ).json()
    assert run_worker(settings) == failed["id"]
    written = Message("%(kind)s: %(error)s", kind="MemoryError", error="out of memory")
    assert stored_message(settings, failed["id"]) == written == "MemoryError: out of memory"
    catalogue = i18n.translations("es")

    class WithTheFailure:  # the Spanish catalogue, with the failure's template translated
        def gettext(self, message: str) -> str:
            return "fallo %(kind)s: %(error)s" if message == written.template else gettext(message)

        def __getattr__(self, name: str) -> Any:
            return getattr(catalogue, name)

    real = i18n.translations
    monkeypatch.setattr(
        i18n, "translations", lambda locale: WithTheFailure() if locale == "es" else real(locale)
    )
    expected = written.say("es", WithTheFailure().gettext)
    assert expected == "fallo MemoryError: out of memory"
    answer = user_client.get(f"/api/v1/simulations/{failed['id']}", headers=spanish).json()
    assert answer["message"] == expected
    page = user_client.get(f"/simulations/{failed['id']}/status", headers=spanish)
    assert page.status_code == 200 and f'role="alert">{expected}</p>' in page.text
    english_page = user_client.get(f"/simulations/{failed['id']}/status")
    assert 'role="alert">MemoryError: out of memory</p>' in english_page.text


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="the repository's examples are not here")
def test_examples_are_found() -> None:
    assert (EXAMPLES / "reference.yaml").is_file()
    assert isinstance(tiny_scenario()["catalogue"], dict)  # the catalogue put inline
    assert Path(EXAMPLES).name == "scenarios"
