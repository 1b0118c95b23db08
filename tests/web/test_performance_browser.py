"""The Performance and Forecasts pages in a real browser, on the demo's DEMO-MI programme, at
desktop and phone widths: the coordinator reads the agronomists against their peers and
forecasts a district; the agronomist sees their own row. Screenshots performance.png and
forecast.png go to docs/screenshots/ (docs/micro-investing.md shows them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.browsing import DRAWN_PIXELS, open_page, sign_in

SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"


def _clean(page: Any, errors: list[str]) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the screen"
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_coordinator_reads_performance_and_forecasts_a_district(
    browser: Any, live_server: str, width: int
) -> None:
    context, page, errors = open_page(browser, width, "en")
    try:
        sign_in(page, live_server, "coordinadora")
        page.goto(f"{live_server}/performance")
        assert page.get_by_role("heading", name="Performance", exact=True).is_visible()
        assert (
            page.locator("section[aria-labelledby=agronomists] table.performance tbody tr").count()
            == 12
        )
        page.wait_for_selector("#sales-chart canvas[data-drawn]", timeout=10_000)
        assert page.locator("#sales-chart canvas").evaluate(DRAWN_PIXELS) > 200
        assert page.get_by_text("Median of 12 peers").first.is_visible()
        _clean(page, errors)
        if width > 600:
            _shot(page, "performance.png")
        page.goto(f"{live_server}/forecasts")
        page.select_option("#field-district", "Dedza")
        page.select_option("#field-seasons", "2")
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        assert page.get_by_role("heading", name="Kit demand, for suppliers").is_visible()
        for chart in ("demand-chart", "supply-chart", "price-chart"):
            page.wait_for_selector(f"#{chart} canvas[data-drawn]", timeout=10_000)
            assert page.locator(f"#{chart} canvas").evaluate(DRAWN_PIXELS) > 200, chart
        download = page.locator("#demand-chart a.download")
        assert download.get_attribute("download") == "kit-demand-Dedza.csv"
        _clean(page, errors)
        _shot(page, "forecast.png" if width > 600 else "forecast-phone.png")
    finally:
        context.close()


def test_the_agronomist_sees_their_own_row(browser: Any, live_server: str) -> None:
    context, page, errors = open_page(browser, 390, "es")
    try:
        sign_in(page, live_server, "agronomo")
        page.goto(f"{live_server}/performance")
        assert (
            page.locator("section[aria-labelledby=agronomists] table.performance tbody tr").count()
            == 1
        )
        assert page.locator("#districts").count() == 0
        assert page.get_by_text("Mediana de 12 pares").first.is_visible()
        _clean(page, errors)
    finally:
        context.close()
