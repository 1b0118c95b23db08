"""Who is asking: the session cookie (pages) or a bearer token (API), the programme they act
in, and CSRF protection on every form.

- A browser signs in on /sign-in and gets an HttpOnly, SameSite=Lax cookie (Secure behind TLS)
  holding a random token; the database keeps its SHA-256 (alianza.platform.auth).
- Every unsafe request made with the cookie carries the session's CSRF token: the form field
  ``csrf_token`` (``{{ csrf_input() }}`` in every form) or the ``X-CSRF-Token`` header (htmx).
  Before sign-in, the sign-in form is protected the same way by a token in a cookie of its own.
- A program sends ``Authorization: Bearer <token>`` (POST /api/v1/auth/token makes one); it
  names its programme with the ``X-Programme`` header (the programme's code) when the user
  holds roles in several.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from alianza.platform.access import Actor, act_as
from alianza.platform.auth import service as auth
from alianza.platform.errors import Refused
from alianza.platform.programmes.models import User
from alianza.platform.programmes.service import programme_by_code
from alianza.problems import Message
from alianza.web import i18n
from alianza.web.deps import SessionDep

SESSION_COOKIE = "alianza_session"
ANONYMOUS_CSRF_COOKIE = "alianza_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class UserView:
    """The signed-in user as pages show them (see :func:`get_current_user`)."""

    id: int
    username: str
    display_name: str
    locale: str | None


class NotSignedIn(Exception):
    """No valid session or token: pages send the browser to /sign-in, the API answers 401."""


class BadCsrf(Refused):
    """An unsafe request with the session cookie but without its CSRF token."""

    code = "csrf"


async def csrf_token_given(request: Request) -> str | None:
    """The CSRF token an unsafe request carries (the header, else the form field); None for a
    safe request. Reads no database: it may await the body on the event loop."""
    if request.method in SAFE_METHODS:
        return None
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        field = (await request.form()).get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    return given


def require_csrf(request: Request, given: str | None, expected: str) -> None:
    """Refuse an unsafe request whose CSRF token is not ``expected``."""
    if request.method in SAFE_METHODS:
        return
    if given is None or not hmac.compare_digest(given, expected):
        raise BadCsrf(
            Message(
                "the form has expired or did not come from this site: reload the page and try again"
            ),
            rule="csrf",
        )


async def check_csrf(request: Request, expected: str) -> None:
    """:func:`require_csrf` for a route that reads the token itself (the sign-in form)."""
    require_csrf(request, await csrf_token_given(request), expected)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def get_current_user(
    request: Request,
    session: SessionDep,
    csrf_given: Annotated[str | None, Depends(csrf_token_given)],
) -> User:
    """The signed-in user (cookie or bearer token); the cookie's unsafe requests are
    CSRF-checked here, so no route can forget it. A plain function: FastAPI runs it in a
    worker thread, so its queries never block the event loop. Found once per request."""
    found: User | None = getattr(request.state, "user", None)
    if found is not None:
        return found
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = auth.token_user(session, header[7:].strip())
        if user is None:
            raise NotSignedIn
        request.state.programme_id = None
    else:
        token = request.cookies.get(SESSION_COOKIE)
        found = auth.session_of(session, token) if token else None
        if found is None:
            raise NotSignedIn
        row, user = found
        require_csrf(request, csrf_given, row.csrf_token)
        request.state.csrf_token = row.csrf_token
        request.state.web_session = row
        request.state.programme_id = row.programme_id
    request.state.user = user
    # What the layout shows of the user, read now: a refused request rolls its session back,
    # which expires the row, and its error page is rendered after that.
    request.state.user_view = UserView(user.id, user.username, user.display_name, user.locale)
    if user.locale:
        i18n.set_locale(request, user.locale)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def programme_for(session: Session, request: Request) -> int | None:
    """The programme the request acts in: the X-Programme header's, the session's choice, or
    None for the user's first (which :func:`act_as` finds in the same query as the role)."""
    code = request.headers.get("x-programme")
    if code:
        return programme_by_code(session, code).id
    chosen = getattr(request.state, "programme_id", None)
    return None if chosen is None else int(chosen)


def get_current_actor(
    request: Request,
    session: SessionDep,
    csrf_given: Annotated[str | None, Depends(csrf_token_given)],
) -> Actor:
    """The signed-in user acting in their programme, with their role and scope. The user is
    found here too (not through a CurrentUser dependency): one worker-thread hop, not two."""
    user = get_current_user(request, session, csrf_given)
    actor = act_as(session, user.id, programme_for(session, request))
    request.state.actor = actor
    return actor


CurrentActor = Annotated[Actor, Depends(get_current_actor)]


def anonymous_csrf(request: Request) -> str:
    """The sign-in form's CSRF token (a cookie of its own until there is a session)."""
    token = request.cookies.get(ANONYMOUS_CSRF_COOKIE) or secrets.token_urlsafe(32)
    request.state.csrf_token = token
    return token
