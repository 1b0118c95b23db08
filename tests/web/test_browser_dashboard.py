"""The dashboard and a simulation in a real browser (Debian's Chromium under Playwright).

The shared live server holds a demo seeded with small POs, most of whose profiles are
ineligible; the dashboard wants the whole cycle, so this module serves its own live app on the
full demo programme (seeded once, about 15 s), with a jobs worker of its own for the simulation.
Screenshots go to docs/screenshots/ (dashboard.png, dashboard-es.png, simulation.png)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alianza.platform.db import Database
from tests.web.browsing import DRAWN_PIXELS, open_page, sign_in
from tests.web.conftest import _free_port, settings_for

ROOT = Path(__file__).parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def full_demo_server(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: Path
) -> Iterator[tuple[str, Path, Path]]:
    """(base URL, database file, data folder) of the app on the full demo programme."""
    import uvicorn

    from alianza.platform.demo.service import seed_demo
    from alianza.web.app import create_app

    folder = tmp_path_factory.mktemp("full-demo")
    database = folder / "alianza.db"
    shutil.copy(migrated_template, database)
    opened = Database(f"sqlite:///{database}")
    with opened.session() as session:
        seed_demo(session, 1, mi_farmers=0)
    opened.dispose()
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
        yield f"http://127.0.0.1:{port}", database, folder
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def assert_charts_drawn(page: Any, at_least: int) -> None:
    page.wait_for_selector("canvas[data-drawn]", timeout=10_000)
    canvases = page.query_selector_all("figure.chart canvas")
    assert len(canvases) >= at_least
    for canvas in canvases:
        canvas.scroll_into_view_if_needed()
        assert canvas.evaluate(DRAWN_PIXELS) > 500, "a chart was not drawn"


def assert_clean(page: Any, errors: list[str]) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the screen"
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []


@pytest.mark.parametrize(
    ("width", "locale", "heading", "screenshot"),
    [
        (1280, "en", "Programme dashboard", "dashboard.png"),
        (360, "es", "Panel del programa", "dashboard-es.png"),
    ],
)
def test_the_dashboard_draws_its_charts(
    browser: Any,
    full_demo_server: tuple[str, Path, Path],
    width: int,
    locale: str,
    heading: str,
    screenshot: str,
) -> None:
    base = full_demo_server[0]
    context, page, errors = open_page(browser, width, locale)
    try:
        sign_in(page, base, "gestora")  # lands on the dashboard: / sends her there
        assert page.url.endswith("/dashboard")
        page.goto(f"{base}/dashboard?on=2025-06-30")  # the demo's "today"
        assert page.get_by_role("heading", name=heading, exact=True).is_visible()
        assert_charts_drawn(page, 5)  # funnel, grants, sales (two currencies), inclusion, alerts
        assert_clean(page, errors)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)
    finally:
        context.close()


def test_run_a_small_simulation(browser: Any, full_demo_server: tuple[str, Path, Path]) -> None:
    from alianza.platform.jobs.worker import start_worker_process

    base, database, folder = full_demo_server
    worker = start_worker_process(
        f"sqlite:///{database}", local_workers=0, environment={"ALIANZA_DATA_DIR": str(folder)}
    )
    context, page, errors = open_page(browser, 1280, "en")
    try:
        sign_in(page, base, "gestora")
        page.goto(f"{base}/simulations")
        page.select_option('select[name="example"]', "reference.yaml")
        page.fill('input[name="farmers"]', "300")
        page.fill('input[name="seasons"]', "4")
        page.fill('input[name="seed"]', "11")
        with page.expect_navigation():
            page.click('main form button[type="submit"]')
        assert "/simulations/" in page.url
        assert page.query_selector("progress") is not None
        # the status polls itself (htmx, every 2 s) until the job succeeded, then shows charts
        page.wait_for_selector("#chart-income canvas[data-drawn]", timeout=90_000)
        assert_charts_drawn(page, 4)
        page.reload()  # the results survive a reload
        assert_charts_drawn(page, 4)
        assert page.get_by_role("link", name="Summary (JSON)").is_visible()
        assert_clean(page, errors)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / "simulation.png"), full_page=True)
    finally:
        context.close()
        worker.stop()
