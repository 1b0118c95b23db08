"""The Micro Investing pages in a real browser, on the demo's DEMO-MI programme: the
coordinator walks a district's rollout board and the payments review queue (and matches a
parked payment), the agronomist opens their caseload and a farmer's growth chart. Screenshots
rollout-board.png, caseload.png, farmer-growth.png and payments-review.png go to
docs/screenshots/ (docs/micro-investing.md shows them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def test_the_coordinator_walks_the_rollout_and_matches_a_payment(
    browser: Any, live_server: str
) -> None:
    context, page, errors = open_page(browser, 1280, "en")
    try:
        sign_in(page, live_server, "coordinadora")
        page.goto(f"{live_server}/rollout")
        assert page.get_by_role("heading", name="Rollout", exact=True).is_visible()
        with page.expect_navigation():
            page.click("table tbody a:text-is('Dedza')")
        assert page.locator(".phases li.current").text_content() == "Growth"
        assert page.get_by_text("Agronomists", exact=True).is_visible()
        _clean(page, errors)
        _shot(page, "rollout-board.png")
        page.goto(f"{live_server}/payments/review")
        cards = page.locator("article.card")
        assert cards.count() == 4
        target = page.locator("article.card:has(select option)").first
        target.locator("input[name=note]").fill("paid from a relative's phone")
        _shot(page, "payments-review.png")
        with page.expect_navigation():
            target.locator("button[type=submit]").click()
        assert page.get_by_text("The payment was matched.").is_visible()
        assert page.locator("article.card").count() == 3
        _clean(page, errors)
    finally:
        context.close()


def test_the_agronomist_sees_the_caseload_and_a_farmers_growth(
    browser: Any, live_server: str
) -> None:
    context, page, errors = open_page(browser, 1280, "en")
    try:
        sign_in(page, live_server, "agronomo")
        page.goto(f"{live_server}/caseload")
        assert page.get_by_role("heading", name="Visit plan").is_visible()
        assert page.locator("table tbody tr").count() >= 2
        _clean(page, errors)
        _shot(page, "caseload.png")
        sales = page.request.get(f"{live_server}/api/v1/farmers?limit=200").json()["items"]
        assert sales, "the agronomist sees the farmers of their villages"
        best = None
        for farmer in sales[:60]:
            html = page.request.get(f"{live_server}/farmers/{farmer['id']}/growth").text()
            if "growth-chart" in html:
                best = farmer["id"]
                break
        assert best is not None
        page.goto(f"{live_server}/farmers/{best}/growth")
        page.wait_for_selector("#growth-chart canvas[data-drawn]", timeout=10_000)
        assert page.locator("#growth-chart canvas").evaluate(DRAWN_PIXELS) > 500
        assert page.locator("#ladder-chart canvas").evaluate(DRAWN_PIXELS) > 100
        _clean(page, errors)
        _shot(page, "farmer-growth.png")
    finally:
        context.close()
