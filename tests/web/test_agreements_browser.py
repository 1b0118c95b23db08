"""The agreements pages in a real browser: a programme manager opens an agreement, records a
delivery and sees it in the deliveries and the chart; a buyer, on a phone in Spanish, sees only
their own agreements. Screenshots agreement.png and agreement-es.png go to docs/screenshots/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.web.browsing import DRAWN_PIXELS, open_page, sign_in

SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"


def delivered_in_chart(page: Any) -> float:
    spec = json.loads(page.locator("#schedule-chart script.chart-data").text_content())
    return float(sum(spec["datasets"][1]["data"]))


def check_the_page(page: Any, errors: list[str]) -> None:
    canvas = page.locator("#schedule-chart canvas")
    page.wait_for_selector("#schedule-chart canvas[data-drawn]", timeout=10_000)
    canvas.scroll_into_view_if_needed()
    assert canvas.evaluate(DRAWN_PIXELS) > 500, "the schedule chart was not drawn"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the screen"
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []


def test_record_a_delivery_and_see_it(browser: Any, live_server: str) -> None:
    context, page, errors = open_page(browser, 1280, "en")
    try:
        sign_in(page, live_server, "gestora")
        page.goto(f"{live_server}/agreements")
        assert page.get_by_role("heading", name="Agreements", exact=True).is_visible()
        # the agreement with most delivered so far (the session's cookie reads the API too)
        listed = page.request.get(f"{live_server}/api/v1/agreements?limit=1000").json()["items"]
        busiest = max(listed, key=lambda a: float(a["delivered_quantity"]))
        with page.expect_navigation():
            page.click(f'table tbody a[href="/agreements/{busiest["id"]}"]')
        before = delivered_in_chart(page)
        page.click("text=Record a delivery")
        detail = page.request.get(f"{live_server}/api/v1/agreements/{busiest['id']}").json()
        last = [p for p in detail["schedule"] if float(p["delivered"]) > 0][-1]
        page.fill("#field-delivered_on", last["period_end"])
        page.fill("#field-quantity", "123.5")
        if page.locator("#field-reference_price").count():
            page.fill("#field-reference_price", "20")
        page.select_option("#field-grade", index=0)
        with page.expect_navigation():
            page.click("text=Record the delivery")
        assert page.get_by_text("The delivery is recorded.").is_visible()
        assert delivered_in_chart(page) == pytest.approx(before + 123.5, abs=1e-6)
        first_row = page.locator("#delivery-table tbody tr").first
        assert "123.5" in first_row.text_content()
        check_the_page(page, errors)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / "agreement.png"), full_page=True)
    finally:
        context.close()


def test_a_buyer_on_a_phone_sees_only_their_agreements(browser: Any, live_server: str) -> None:
    context, page, errors = open_page(browser, 360, "es")
    try:
        sign_in(page, live_server, "comprador")
        page.goto(f"{live_server}/agreements")
        assert page.get_by_role("heading", name="Convenios", exact=True).is_visible()
        buyers = page.locator("table tbody tr td:nth-child(3)").all_text_contents()
        assert buyers and len(set(buyers)) == 1  # one buyer: their own
        with page.expect_navigation():
            page.locator("table tbody a").first.click()
        assert page.get_by_role("heading", name="Entregas", exact=True).is_visible()
        assert page.locator("text=Registrar una entrega").count() == 0
        assert page.locator("text=Registrar un pago").count() == 1
        check_the_page(page, errors)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / "agreement-es.png"), full_page=True)
    finally:
        context.close()
