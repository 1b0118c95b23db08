"""The graduation page in a real browser, on the demo's DEMO-MI programme: the coordinator
assesses readiness (the chart is drawn), registers the first proposed cluster as a producer
organization from its form and lands on the new organization; the page fits a phone. The
screenshot graduation.png goes to docs/screenshots/ (docs/micro-investing.md shows it)."""

from __future__ import annotations

from typing import Any

from tests.web.browsing import DRAWN_PIXELS, open_page, sign_in
from tests.web.test_microinvesting_browser import _clean, _shot

# The demo the tests seed is small (300 farmers): wider villages' reach, smaller clusters.
QUERY = "radius_km=25&min_farmers=5&min_cluster_volume=500"


def test_the_coordinator_registers_a_cluster_from_the_page(browser: Any, live_server: str) -> None:
    context, page, errors = open_page(browser, 1280, "en")
    try:
        sign_in(page, live_server, "coordinadora")
        page.goto(f"{live_server}/graduation?{QUERY}")
        assert page.get_by_role("heading", name="Graduation to alliances").is_visible()
        canvas = page.locator("#criteria-chart canvas")
        page.wait_for_function("(c) => c.width > 0", arg=canvas.element_handle())
        assert page.evaluate(DRAWN_PIXELS, canvas.element_handle()) > 0
        clusters = page.locator("article.cluster")
        assert clusters.count() >= 1
        _clean(page, errors)
        _shot(page, "graduation.png")
        first = clusters.first
        members = first.locator("input[name=farmer_ids]").get_attribute("value")
        assert members
        first.locator("input[name=name]").fill("Dedza Growers' Association")
        with page.expect_navigation():
            first.get_by_role("button", name="Register as producer organization").click()
        assert "/organizations/" in page.url
        assert page.get_by_role("heading", name="Dedza Growers' Association").is_visible()
        # its farmers are members now, and no longer proposed
        page.goto(f"{live_server}/graduation?{QUERY}")
        left = page.locator("article.cluster input[name=farmer_ids]")
        assert members not in [left.nth(i).get_attribute("value") for i in range(left.count())]
        _clean(page, errors)
    finally:
        context.close()


def test_the_graduation_page_fits_a_phone(browser: Any, live_server: str) -> None:
    context, page, errors = open_page(browser, 390, "fr")
    try:
        sign_in(page, live_server, "coordinadora")
        page.goto(f"{live_server}/graduation?{QUERY}")
        assert page.get_by_role("heading", name="Graduation vers les alliances").is_visible()
        page.locator("details.criteria summary").click()
        assert page.get_by_label("Produit ou kit").is_visible()
        _clean(page, errors)
    finally:
        context.close()
