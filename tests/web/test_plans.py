"""Plan appraisal: the page and the API on the example plans, and on broken plans."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from alianza.appraisal import evaluate, load_plan

PLANS = sorted((Path(__file__).parents[2] / "examples" / "plans").glob("*.yaml"))
FRUIT = next(path for path in PLANS if path.name.startswith("fruit-veg"))
BROKEN = b"""\
plan: 1
name: Broken
stage: project
currency: USD
years: 5
discount_rate: 0.1
investments:
  - item: Tractor
    quantity: -2
    unit_cost: 100
activities: []
"""


def upload(user_client: TestClient, path: str, name: str, content: bytes, **data: str):  # noqa: ANN201
    return user_client.post(path, files={"file": (name, content)}, data=data)


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: p.name)
def test_the_api_gives_the_same_report_as_the_appraisal(
    user_client: TestClient, plan: Path
) -> None:
    response = upload(user_client, "/api/v1/plans/appraise", plan.name, plan.read_bytes())
    assert response.status_code == 200
    expected = json.loads(json.dumps(evaluate(load_plan(plan)).to_dict()))
    assert response.json() == expected


def test_the_api_takes_a_json_body_and_a_discount_rate(user_client: TestClient) -> None:
    data = yaml.safe_load(FRUIT.read_text(encoding="utf-8"))
    response = user_client.post("/api/v1/plans/appraise", params={"discount_rate": 0.1}, json=data)
    assert response.status_code == 200
    report = response.json()
    assert report["discount_rate"] == 0.1
    assert report["npv"] == evaluate(load_plan(FRUIT), 0.1).to_dict()["npv"]


def test_the_api_lists_every_problem_of_a_bad_plan(user_client: TestClient) -> None:
    response = upload(user_client, "/api/v1/plans/appraise", "broken.yaml", BROKEN)
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["field"] == "investments[0].quantity"
    assert body["error"]["code"] == "invalid"
    assert body["problems"][0] == body["error"]


@pytest.mark.parametrize(
    ("name", "content", "field"),
    [
        ("plan.yaml", b"name: [unclosed", None),
        ("plan.json", b"{not json", None),
        ("plan.yaml", b"", None),
        ("plan.yaml", b"\xff\xfe\x00binary", None),
        ("plan.yaml", b"- a list\n- not a plan\n", None),
    ],
)
def test_unreadable_files_are_refused_with_the_error_body(
    user_client: TestClient, name: str, content: bytes, field: str | None
) -> None:
    response = upload(user_client, "/api/v1/plans/appraise", name, content)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_a_body_that_is_not_json_is_refused(user_client: TestClient) -> None:
    response = user_client.post(
        "/api/v1/plans/appraise", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert set(response.json()["error"]) == {"code", "message", "field"}


def test_the_appraisal_endpoint_is_in_the_openapi_document(user_client: TestClient) -> None:
    spec = user_client.get("/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/plans/appraise"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json", "multipart/form-data"}


def test_the_form_page(user_client: TestClient) -> None:
    html = user_client.get("/plans/appraise").text
    assert 'enctype="multipart/form-data"' in html
    assert 'name="csrf_token"' in html
    assert 'name="file"' in html
    assert 'action="/plans/appraise"' in html  # the page's route, not the API's


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: p.name)
def test_the_appraisal_page_of_each_example(user_client: TestClient, plan: Path) -> None:
    response = upload(user_client, "/plans/appraise", plan.name, plan.read_bytes())
    assert response.status_code == 200
    html = response.text
    report = evaluate(load_plan(plan)).to_dict()
    assert report["name"] in html
    assert "Download the appraisal (XLSX)" in html
    assert 'class="chart-data"' in html
    if report["stage"] == "project":
        for label in (
            "Net present value (NPV)",
            "Internal rate of return (IRR)",
            "Benefit/cost ratio",
            "Payback (years)",
            "Working capital",
            "Working capital: months to cover",
            "Applicant's NPV",
            "Employment (person-years)",
            "Annual cost per beneficiary",
            "Switching value",
            "Cash flows by year",
        ):
            assert label in html, label


def test_the_appraisal_page_formats_figures_for_the_locale(user_client: TestClient) -> None:
    english = upload(user_client, "/plans/appraise", FRUIT.name, FRUIT.read_bytes()).text
    spanish = user_client.post(
        "/plans/appraise",
        files={"file": (FRUIT.name, FRUIT.read_bytes())},
        headers={"Accept-Language": "es"},
    ).text
    assert "$14,895.97" in english  # the NPV
    assert "12.09%" in english  # the IRR
    assert "14.895,97" in spanish and "US$" in spanish
    assert "Valor actual neto (VAN)" in spanish


def test_the_discount_rate_of_the_form_is_in_percent(user_client: TestClient) -> None:
    html = upload(
        user_client, "/plans/appraise", FRUIT.name, FRUIT.read_bytes(), discount_rate="10"
    ).text
    assert "discounted at 10.00% a year" in html
    npv = evaluate(load_plan(FRUIT), 0.10).to_dict()["npv"]
    assert f"{npv:,.2f}".lstrip("-") in html


def test_a_bad_plan_page_lists_every_problem_with_its_field(user_client: TestClient) -> None:
    response = upload(user_client, "/plans/appraise", "broken.yaml", BROKEN)
    assert response.status_code == 422
    assert "The plan has problems" in response.text
    assert "investments[0].quantity" in response.text
    assert 'name="file"' in response.text  # the form again, to try once more


def test_a_bad_discount_rate_is_a_problem_of_its_field(user_client: TestClient) -> None:
    response = upload(
        user_client, "/plans/appraise", FRUIT.name, FRUIT.read_bytes(), discount_rate="six"
    )
    assert response.status_code == 422
    assert "discount_rate" in response.text


def test_no_file_is_a_problem_not_a_crash(user_client: TestClient) -> None:
    response = user_client.post("/plans/appraise", data={"discount_rate": ""})
    assert response.status_code == 422
    assert "choose a plan file" in response.text


def test_the_xlsx_download(user_client: TestClient) -> None:
    response = user_client.post(
        "/plans/appraise/xlsx",
        data={"plan_text": FRUIT.read_text(encoding="utf-8"), "plan_filename": FRUIT.name},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert (
        'filename="fruit-and-vegetable-processing-plant-appraisal.xlsx"'
        in response.headers["content-disposition"]
    )
    workbook = load_workbook(io.BytesIO(response.content))
    assert "Summary" in workbook.sheetnames


def test_a_body_over_the_limit_is_refused(user_client: TestClient) -> None:
    from alianza.web.appraisal import MAX_PLAN_BYTES

    big = b'{"name": "' + b"x" * (MAX_PLAN_BYTES + 10) + b'"}'
    response = user_client.post(
        "/api/v1/plans/appraise", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "larger than 2 MB" in response.json()["error"]["message"]
