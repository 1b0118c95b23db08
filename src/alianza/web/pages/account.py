"""Signing in and out, and the user's own account: language, password, API tokens, and the
programme they act in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alianza.platform.auth import service as auth
from alianza.platform.errors import Refused
from alianza.platform.programmes.service import change_password, programmes_of
from alianza.problems import Message
from alianza.settings import LOCALES
from alianza.web import i18n
from alianza.web.auth import (
    ANONYMOUS_CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentUser,
    anonymous_csrf,
    check_csrf,
    client_address,
)
from alianza.web.deps import SessionDep, SettingsDep
from alianza.web.pages.home import safe_next
from alianza.web.security import cookies_secure
from alianza.web.templating import render

router = APIRouter(include_in_schema=False)


def _sign_in_page(
    request: Request,
    next_path: str,
    error: str | None = None,
    username: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    token = anonymous_csrf(request)
    response = render(
        request,
        "account/sign_in.html",
        {"next": next_path, "error": error, "username": username},
        status_code=status_code,
    )
    response.set_cookie(
        ANONYMOUS_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/sign-in"
    )
    return response


@router.get("/sign-in", response_class=HTMLResponse, name="sign_in")
def sign_in_form(request: Request, next: str = "/") -> HTMLResponse:
    return _sign_in_page(request, safe_next(next))


@router.post("/sign-in", name="sign_in_post")
async def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    await check_csrf(request, request.cookies.get(ANONYMOUS_CSRF_COOKIE, "\0"))
    try:
        # argon2 takes tens of milliseconds: in a worker thread, not on the event loop
        user = await run_in_threadpool(
            auth.sign_in, session, username, password, client_address(request)
        )
    except Refused as refused:
        session.commit()  # the failed attempt counts towards the rate limit
        message = i18n.say(i18n.locale_of(request), refused.reason)
        return _sign_in_page(request, safe_next(next), message, username, status_code=401)
    held = await run_in_threadpool(programmes_of, session, user.id)
    started = await run_in_threadpool(
        auth.start_session, session, user, held[0][0].id if held else None
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        started.token,
        httponly=True,
        samesite="lax",
        secure=cookies_secure(request, settings),
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
    )
    response.delete_cookie(ANONYMOUS_CSRF_COOKIE, path="/sign-in")
    if user.locale:
        response.set_cookie(i18n.COOKIE, user.locale, httponly=True, samesite="lax")
    return response


@router.post("/sign-out", name="sign_out")
def sign_out(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    auth.end_session(session, request.state.web_session)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/account", response_class=HTMLResponse, name="account")
def account(
    request: Request, session: SessionDep, user: CurrentUser, new_token: str | None = None
) -> HTMLResponse:
    return render(
        request,
        "account/account.html",
        {
            "user": user,
            "tokens": auth.tokens_of(session, user),
            "programmes": programmes_of(session, user.id),
            "new_token": new_token,
            "current_programme": request.state.programme_id,
        },
    )


@router.post("/account/programme", name="account_programme")
def choose_programme(
    request: Request, session: SessionDep, user: CurrentUser, programme_id: Annotated[int, Form()]
) -> Response:
    if programme_id not in {p.id for p, _ in programmes_of(session, user.id)}:
        raise Refused(Message("you hold no role in that programme"), rule="roles")
    request.state.web_session.programme_id = programme_id
    return RedirectResponse("/", status_code=303)


@router.post("/account/language", name="account_language")
def choose_language(
    request: Request, user: CurrentUser, settings: SettingsDep, locale: Annotated[str, Form()]
) -> Response:
    if locale not in LOCALES:
        raise Refused(Message("choose one of the languages offered"), field="locale")
    user.locale = locale
    response = RedirectResponse("/account", status_code=303)
    response.set_cookie(
        i18n.COOKIE, locale, httponly=True, samesite="lax", secure=cookies_secure(request, settings)
    )
    return response


@router.post("/account/password", name="account_password")
def password(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    current_password: Annotated[str, Form(max_length=500)],
    new_password: Annotated[str, Form(max_length=500)],
) -> Response:
    change_password(session, user, current_password, new_password)
    # the change ended every session (their epoch is old): open a fresh one for this browser
    started = auth.start_session(session, user, request.state.web_session.programme_id)
    response = RedirectResponse("/account", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        started.token,
        httponly=True,
        samesite="lax",
        secure=cookies_secure(request, settings),
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
    )
    return response


@router.post("/account/tokens", response_class=HTMLResponse, name="account_token_new")
def new_token(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    name: Annotated[str, Form(max_length=80)],
) -> HTMLResponse:
    secret, _ = auth.create_token(session, user, name)
    return account(request, session, user, new_token=secret)


@router.post("/account/tokens/{token_id}/revoke", name="account_token_revoke")
def revoke(session: SessionDep, user: CurrentUser, token_id: int) -> Response:
    auth.revoke_token(session, user, token_id)
    return RedirectResponse("/account", status_code=303)
