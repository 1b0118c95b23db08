"""The pages in a real browser (Debian's Chromium under Playwright): upload a plan, see the
indicators and drawn charts at a phone's width and a desktop's, with nothing blocked by the
Content-Security-Policy; the screenshots go to docs/screenshots/ for the user guide."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.browsing import DRAWN_PIXELS, open_page, sign_in

ROOT = Path(__file__).parents[2]
PLAN = ROOT / "examples" / "plans" / "fruit-veg-processing.plan.yaml"
SCREENSHOTS = ROOT / "docs" / "screenshots"


def appraise(page: Any, base: str) -> None:
    sign_in(page, base, "gestora")
    page.goto(f"{base}/plans/appraise")
    page.set_input_files('input[name="file"]', str(PLAN))
    with page.expect_navigation():
        page.click('main button[type="submit"]')
    page.wait_for_selector("canvas[data-drawn]", timeout=10_000)


@pytest.mark.parametrize(
    ("width", "locale", "npv_label", "screenshot"),
    [
        (1280, "en", "Net present value (NPV)", "plan-appraisal.png"),
        (360, "es", "Valor actual neto (VAN)", "plan-appraisal-es.png"),
        (360, "en", "Net present value (NPV)", None),
        (1280, "fr", "Valeur actuelle nette (VAN)", None),
    ],
)
def test_upload_a_plan_and_see_its_appraisal(
    browser: Any, live_server: str, width: int, locale: str, npv_label: str, screenshot: str | None
) -> None:
    context, page, errors = open_page(browser, width, locale)
    try:
        appraise(page, live_server)
        assert page.get_by_text(npv_label, exact=True).is_visible()
        canvases = page.query_selector_all("figure.chart canvas")
        assert len(canvases) == 3  # cash flows, sensitivity, financing
        for canvas in canvases:
            canvas.scroll_into_view_if_needed()
            assert canvas.evaluate(DRAWN_PIXELS) > 500, "a chart was not drawn"
        # The page never scrolls sideways; wide tables scroll inside their own box.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow}px wider than the screen"
        assert page.evaluate("window.__cspViolations") == []
        assert errors == []
        if screenshot:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)
    finally:
        context.close()


def test_the_menu_folds_on_a_phone(browser: Any, live_server: str) -> None:
    context, page, _ = open_page(browser, 360, "en")
    try:
        page.goto(f"{live_server}/")
        link = page.locator(".site-nav >> text=Plan appraisal")
        assert not link.is_visible()
        page.click(".nav-toggle-label")
        assert link.is_visible()
    finally:
        context.close()


def test_the_language_switcher(browser: Any, live_server: str) -> None:
    context, page, _ = open_page(browser, 1280, "en")
    try:
        sign_in(page, live_server, "auditora")
        page.goto(f"{live_server}/plans/appraise")
        with page.expect_navigation():
            page.click("text=Português")
        assert page.locator("html").get_attribute("lang") == "pt"
        assert page.get_by_role("heading", name="Avaliação de planos").is_visible()
    finally:
        context.close()


def test_the_api_reference_renders_under_the_policy(browser: Any, live_server: str) -> None:
    context, page, errors = open_page(browser, 1280, "en")
    try:
        page.goto(f"{live_server}/docs")
        page.get_by_text("/api/v1/plans/appraise").first.wait_for(timeout=15_000)
        assert page.evaluate("window.__cspViolations") == []
    finally:
        context.close()
