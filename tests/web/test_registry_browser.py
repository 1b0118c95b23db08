"""The registry and users pages in a real browser: a field officer searches the farmers and
opens one; an administrator creates a user and grants a role (the scope fields follow the role
through htmx). Screenshots for the user guide go to docs/screenshots/."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.web.browsing import open_page, sign_in

SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"


def _no_sideways_scroll(page: Any) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the screen"


def _shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_a_field_officer_searches_the_farmers_and_opens_one(browser: Any, live_server: str) -> None:
    context, page, errors = open_page(browser, 1280, "en")
    try:
        sign_in(page, live_server, "tecnico")
        page.goto(f"{live_server}/farmers?limit=25")
        first = page.locator("table tbody tr td a").first.inner_text()
        surname = first.split()[-1]
        page.fill('input[name="q"]', surname)
        with page.expect_navigation():
            page.click('form.filters button[type="submit"]')
        assert page.locator("p.count").inner_text().endswith(("farmer", "farmers"))
        names = page.locator("table tbody tr td a").all_inner_texts()
        assert names and all(surname.lower() in name.lower() for name in names)
        _no_sideways_scroll(page)
        _shoot(page, "farmers.png")
        with page.expect_navigation():
            page.locator("table tbody tr td a").first.click()
        assert page.locator("h1").inner_text() == names[0]
        assert page.get_by_text("Intibucá", exact=True).is_visible()
        assert page.evaluate("window.__cspViolations") == []
        assert errors == []
    finally:
        context.close()


def test_the_farmers_page_in_spanish_on_a_phone(browser: Any, live_server: str) -> None:
    context, page, errors = open_page(browser, 360, "es")
    try:
        sign_in(page, live_server, "tecnico")
        page.goto(f"{live_server}/farmers?limit=25")
        assert page.get_by_text("Nombre, teléfono o documento").is_visible()
        _no_sideways_scroll(page)
        _shoot(page, "farmers-es.png")
        assert page.evaluate("window.__cspViolations") == []
        assert errors == []
    finally:
        context.close()


def test_an_administrator_creates_a_user_with_a_role(browser: Any, live_server: str) -> None:
    context, page, errors = open_page(browser, 1280, "en")
    username = f"comprador{uuid.uuid4().hex[:6]}"
    try:
        sign_in(page, live_server, "admin")
        page.goto(f"{live_server}/users")
        page.fill('input[name="username"]', username)
        page.fill('input[name="display_name"]', "Compradora nueva")
        page.fill('input[name="password"]', "a-long-password")
        page.select_option('select[name="role"]', "buyer")
        # htmx swaps in the buyer's scopes and the buyer select
        page.wait_for_selector('#scope-fields select[name="organization_id"]')
        assert page.locator('select[name="place_ids"]').count() == 0
        page.select_option('select[name="organization_id"]', index=1)
        with page.expect_navigation():
            page.click('form[action="/users"] button[type="submit"]')
        assert page.get_by_text("The user was created with their role.").is_visible()
        row = page.locator("table tbody tr", has_text=username)
        assert "Buyer" in row.inner_text()
        _shoot(page, "users.png")
        with page.expect_navigation():
            row.locator("a").click()
        page.select_option('select[name="role"]', "lender")
        page.wait_for_selector(
            '#scope-fields select[name="scope"] option[value="lender"]', state="attached"
        )
        page.select_option('select[name="organization_id"]', index=1)
        with page.expect_navigation():
            page.click('form[action$="/role"] button[type="submit"]')
        assert page.get_by_text("The role was saved.").is_visible()
        assert "Lender" in page.locator("dl.figures").inner_text()
        assert page.evaluate("window.__cspViolations") == []
        assert errors == []
    finally:
        context.close()
