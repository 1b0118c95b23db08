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
from tests.web.test_cycle import full_demo_template  # noqa: F401  (a fixture)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def cycle_server(
    tmp_path_factory: pytest.TempPathFactory,
    full_demo_template: Path,  # noqa: F811
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
