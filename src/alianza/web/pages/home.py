"""The start page, and the language switcher (a link per language sets the ``lang`` cookie)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from alianza.settings import LOCALES
from alianza.web import i18n
from alianza.web.deps import SessionDep, SettingsDep
from alianza.web.security import cookies_secure
from alianza.web.templating import render

router = APIRouter(include_in_schema=False)

ONE_YEAR = 365 * 24 * 3600


@router.get("/", response_class=HTMLResponse, name="home")
def home(request: Request, session: SessionDep) -> Response:
    """The start page; a signed-in user who may read the portfolio goes to the dashboard."""
    if _may_read_portfolio(request, session):
        return RedirectResponse(request.app.url_path_for("dashboard"), status_code=303)
    return render(request, "home.html")


def _may_read_portfolio(request: Request, session: Session) -> bool:
    from alianza.platform.access import Permission
    from alianza.platform.errors import Forbidden, NotFound
    from alianza.web.auth import NotSignedIn, get_current_actor

    try:
        actor = get_current_actor(request, session, None)  # a GET: no CSRF to check
    except (NotSignedIn, Forbidden, NotFound):
        return False
    return actor.can(Permission.PORTFOLIO_READ)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another one."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/language/{code}", name="choose_language")
def choose_language(
    request: Request,
    code: str,
    settings: SettingsDep,
    next: Annotated[str | None, Query()] = None,
) -> RedirectResponse:
    """Remember the language chosen (a cookie for a year), then back to the page it was on."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LOCALES:
        response.set_cookie(
            i18n.COOKIE,
            code,
            max_age=ONE_YEAR,
            httponly=True,
            samesite="lax",
            secure=cookies_secure(request, settings),
        )
    return response
