"""The cycle in a browser: the manager opens the pipeline, opens a subproject and moves it on;
a PO's representative sees only their organization's subprojects. Screenshots go to
docs/screenshots/ (pipeline.png, subproject.png, subproject-es.png at phone width)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.browsing import DRAWN_PIXELS, open_page, sign_in
from tests.web.conftest import _free_port, settings_for

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def cycle_server(
    tmp_path_factory: pytest.TempPathFactory,
    full_demo_template: Path,
) -> Iterator[str]:
    """The app on the full demo (every state of the cycle), served on a free port."""
    import uvicorn

    from alianza.web.app import create_app

    folder = tmp_path_factory.mktemp("cycle-live")
    database = folder / "alianza.db"
    shutil.copy(full_demo_template, database)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings_for(folder, database)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def no_errors(page: Any, errors: list[str]) -> None:
    assert errors == [], errors
    assert page.evaluate("window.__cspViolations") == []


def test_manager_moves_a_subproject_on(browser: Any, cycle_server: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context, page, errors = open_page(browser, 1280, "en")
    try:
        sign_in(page, cycle_server, "gestora")
        page.goto(f"{cycle_server}/subprojects")
        column = page.locator(
            "section.board-column", has=page.locator("#col-business_plan_submitted")
        )
        assert column.locator(".sp-card").count() >= 1
        page.screenshot(path=str(SCREENSHOTS / "pipeline.png"), full_page=True)
        with page.expect_navigation():
            column.locator(".sp-card a").first.click()
        url = page.url
        assert page.locator(".state-badge").inner_text() == "Business plan submitted"
        with page.expect_navigation():
            page.get_by_role("button", name="Start the evaluation").click()
        assert page.locator(".state-badge").inner_text() == "Under evaluation"
        assert page.locator(".flash-success").inner_text() == "The evaluation has started."
        # the committee's forms are offered now; the decision to approve says why not
        assert page.get_by_role("button", name="Record the score").count() == 4
        assert "committee scores" in page.locator(".step.refused").first.inner_text()
        canvas = page.locator("#sensitivity-chart canvas")
        canvas.scroll_into_view_if_needed()
        page.wait_for_function("document.querySelector('#sensitivity-chart canvas').width > 0")
        time.sleep(0.5)  # the chart's animation
        assert canvas.evaluate(DRAWN_PIXELS) > 0
        page.goto(url)
        page.screenshot(path=str(SCREENSHOTS / "subproject.png"), full_page=True)
        no_errors(page, errors)
    finally:
        context.close()
    context, page, errors = open_page(browser, 360, "es")
    try:
        sign_in(page, cycle_server, "gestora")
        page.goto(url)
        assert page.locator(".state-badge").inner_text() == "En evaluación"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the page is {width}px wide at 360px"
        page.screenshot(path=str(SCREENSHOTS / "subproject-es.png"), full_page=True)
        no_errors(page, errors)
    finally:
        context.close()


def test_a_po_sees_only_its_subprojects(browser: Any, cycle_server: str) -> None:
    context, page, errors = open_page(browser, 1280, "en")
    try:
        sign_in(page, cycle_server, "cooperativa")
        page.goto(f"{cycle_server}/subprojects")
        cards = page.locator(".sp-card")
        assert cards.count() == 1
        with page.expect_navigation():
            cards.first.locator("a").click()
        assert page.locator("h2#next-steps").count() == 1
        assert page.locator("h2#audit").count() == 0  # no audit.read
        no_errors(page, errors)
    finally:
        context.close()


def test_manager_takes_an_approved_subproject_to_its_first_tranche(
    browser: Any, cycle_server: str
) -> None:
    """Approved -> counterpart recorded (cash, in kind) -> confirmed -> agreement signed (a
    schedule of three periods in one form) -> tranches scheduled, all through the page's forms.
    The agreement form is photographed (docs/screenshots/agreement-form.png)."""
    from datetime import date, timedelta

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context, page, errors = open_page(browser, 1280, "en")
    try:
        sign_in(page, cycle_server, "gestora")
        page.goto(f"{cycle_server}/subprojects?state=approved")
        column = page.locator("section.board-column", has=page.locator("#col-approved"))
        with page.expect_navigation():
            column.locator(".sp-card a").first.click()
        assert page.locator(".state-badge").inner_text() == "Approved"
        sid = int(page.url.rstrip("/").split("/")[-1])
        plan = page.request.get(f"{cycle_server}/api/v1/subprojects/{sid}").json()["latest_plan"]
        for kind, amount in (
            ("cash", plan["counterpart_cash"]),
            ("in_kind", plan["counterpart_in_kind"]),
        ):
            form = page.locator("form.counterpart-form")
            form.locator('select[name="kind"]').select_option(kind)
            form.locator('input[name="amount"]').fill(amount)
            with page.expect_navigation():
                form.get_by_role("button", name="Record the contribution").click()
            assert page.locator(".flash-success").inner_text() == (
                "Counterpart contribution recorded."
            )
        with page.expect_navigation():
            page.get_by_role("button", name="Confirm the counterpart").click()
        assert page.locator(".state-badge").inner_text() == "Counterpart paid"

        form = page.locator("#agreement-form")
        today = date.today()
        form.locator('input[name="product"]').fill("parchment coffee")
        form.locator('input[name="unit"]').fill("qq")
        form.locator('select[name="price_mechanism"]').select_option("fixed")
        form.locator('input[name="fixed_price"]').fill("2500.00")
        form.locator("#agreement-grade-premium-0").fill("150")
        form.locator('textarea[name="buyer_ta_duties"]').fill("grading training each season")
        for row in range(3):
            start = today + timedelta(days=120 * row)
            form.locator(f"#agreement-period-start-{row}").fill(start.isoformat())
            form.locator(f"#agreement-period-end-{row}").fill(
                (start + timedelta(days=119)).isoformat()
            )
        # the third period's quantity left out first: the page says where, keeping the rest
        form.locator("#agreement-quantity-0").fill("120")
        form.locator("#agreement-quantity-1").fill("140,5")
        with page.expect_navigation():
            form.get_by_role("button", name="Sign the agreement").click()
        assert page.locator(".state-badge").inner_text() == "Counterpart paid"
        assert page.locator("#error-agreement-schedule-2-quantity").inner_text() == (
            "This field is required."
        )
        # the browser logs the page's 422 (the refusal, as meant): nothing else may fail
        assert errors == [
            "Failed to load resource: the server responded with a status of 422 "
            "(Unprocessable Entity)"
        ]
        errors.clear()
        assert page.locator("#agreement-quantity-1").input_value() == "140,5"
        assert page.locator("#agreement-period-start-2").input_value() == (
            (today + timedelta(days=240)).isoformat()
        )
        page.locator("#agreement-quantity-2").fill("160")
        page.locator(".step-agreement").scroll_into_view_if_needed()
        page.locator(".step-agreement").screenshot(path=str(SCREENSHOTS / "agreement-form.png"))
        with page.expect_navigation():
            page.locator("#agreement-form").get_by_role("button", name="Sign the agreement").click()
        assert page.locator(".flash-success").inner_text() == "Agreement signed."
        assert page.locator(".state-badge").inner_text() == "Agreement signed"
        agreement = page.request.get(f"{cycle_server}/api/v1/subprojects/{sid}").json()
        assert agreement["agreement_id"] is not None
        terms = page.request.get(
            f"{cycle_server}/api/v1/agreements/{agreement['agreement_id']}"
        ).json()
        assert [p["scheduled"] for p in terms["schedule"]] == ["120.000", "140.500", "160.000"]

        grant = plan["grant"]
        first = f"{float(grant) / 2:.2f}"
        second = f"{float(grant) - float(first):.2f}"
        tranches = page.locator("form.tranches-form")
        tranches.locator("#amount-0").fill(first)
        tranches.locator("#milestone-0").fill("storage built")
        tranches.locator("#amount-1").fill(second)
        tranches.locator("#milestone-1").fill("first harvest delivered")
        with page.expect_navigation():
            tranches.get_by_role("button", name="Schedule the tranches").click()
        assert page.locator(".flash-success").inner_text() == "Tranches scheduled."
        assert page.locator("section#tranches, h2#tranches").count() >= 1
        assert page.get_by_role("button", name="Release").count() == 1
        no_errors(page, errors)
    finally:
        context.close()
