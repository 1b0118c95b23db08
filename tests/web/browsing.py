"""Shared by the browser tests: a page in a fresh browser context that records console errors
and Content-Security-Policy violations, signing in through the form, and a drawn-chart probe.

Use with the ``browser`` and ``live_server`` fixtures (tests/web/conftest.py); the live server
holds the demo programme, whose users are ``conftest.ROLE_USERS`` (password ``DEMO_PASSWORD``)."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import DEMO_PASSWORD

# Records what the Content-Security-Policy blocks (an init script is not subject to the CSP).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""

# Pixels drawn on a canvas (not transparent): 0 means the chart was not drawn.
DRAWN_PIXELS = """
(canvas) => {
  const context = canvas.getContext("2d");
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn++;
  return drawn;
}
"""


def open_page(browser: Any, width: int, locale: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(
        viewport={"width": width, "height": 900 if width > 600 else 780},
        locale=locale,
        extra_http_headers={"Accept-Language": locale},
    )
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


def sign_in(page: Any, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the sign-in page, as a person does."""
    page.goto(f"{base}/sign-in")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password)
    with page.expect_navigation():
        page.click('main form button[type="submit"]')
