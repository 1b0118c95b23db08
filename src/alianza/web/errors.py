"""How an error reaches a person: one body for the API, one page for the browser.

Under ``/api`` every error is ``{"error": {"code", "message", "field"}, "problems": [...]}``
(``error`` is the first problem; ``problems`` lists them all); elsewhere the same problems on
an HTML page in the layout. The status says what kind: 403 Forbidden, 404 NotFound, 422 bad
input (Invalid, a plan/catalogue/scenario file, a request that breaks its schema), 409 any
other refusal of a platform rule, 500 for a fault of ours, which never shows a traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from alianza.platform.errors import Forbidden, Invalid, NotFound, Refused
from alianza.platform.validation import error_message
from alianza.problems import Message, Problem, ProblemError, field_path
from alianza.web import i18n
from alianza.web.i18n import N_
from alianza.web.security import SECURITY_HEADERS
from alianza.web.templating import render

log = logging.getLogger("alianza.web")

API_PREFIX = "/api"

# Messages for statuses that carry no message of their own, and the codes the API gives them.
STATUS_MESSAGES = {
    400: ("bad_request", N_("The request could not be understood.")),
    401: ("not_signed_in", N_("Please sign in first.")),
    403: ("forbidden", N_("You do not have permission to do this.")),
    404: ("not_found", N_("This page or record does not exist.")),
    405: ("method_not_allowed", N_("This address does not accept that method.")),
    409: ("refused", N_("The request was refused.")),
    413: ("too_large", N_("The request is too large.")),
    422: ("invalid", N_("Some of what was sent is not valid.")),
    429: ("too_many_requests", N_("Too many requests; please wait a moment.")),
    500: ("internal_error", N_("Something went wrong on our side. The error has been logged.")),
}

# Request-validation messages, by pydantic error type (the rest keep pydantic's English).
VALIDATION_MESSAGES = {
    "missing": N_("This field is required."),
    "extra_forbidden": N_("This field is not expected here."),
    "int_parsing": N_("Must be a whole number."),
    "int_type": N_("Must be a whole number."),
    "float_parsing": N_("Must be a number."),
    "float_type": N_("Must be a number."),
    "bool_parsing": N_("Must be true or false."),
    "string_type": N_("Must be text."),
    "greater_than": N_("Must be greater than %(gt)s."),
    "greater_than_equal": N_("Must be at least %(ge)s."),
    "less_than": N_("Must be less than %(lt)s."),
    "less_than_equal": N_("Must be at most %(le)s."),
    "json_invalid": N_("The body is not valid JSON."),
    "model_attributes_type": N_("Must be an object of named fields."),
    "dict_type": N_("Must be an object of named fields."),
    "list_type": N_("Must be a list."),
}

# Pydantic's own English messages, as plan/catalogue/scenario files carry them, in ours.
PYDANTIC_MESSAGES = [
    (re.compile(r"^Field required$"), "missing"),
    (re.compile(r"^Extra inputs are not permitted$"), "extra_forbidden"),
    (re.compile(r"^Input should be a valid integer.*$"), "int_parsing"),
    (re.compile(r"^Input should be a valid number.*$"), "float_parsing"),
    (re.compile(r"^Input should be a valid boolean.*$"), "bool_parsing"),
    (re.compile(r"^Input should be a valid string$"), "string_type"),
    (re.compile(r"^Input should be a valid list$"), "list_type"),
    (re.compile(r"^Input should be a valid dictionary.*$"), "dict_type"),
    (re.compile(r"^Input should be greater than (?P<gt>\S+)$"), "greater_than"),
    (re.compile(r"^Input should be greater than or equal to (?P<ge>\S+)$"), "greater_than_equal"),
    (re.compile(r"^Input should be less than (?P<lt>\S+)$"), "less_than"),
    (re.compile(r"^Input should be less than or equal to (?P<le>\S+)$"), "less_than_equal"),
]

# Where a request field lives is not part of its path for a person ("limit", not "query.limit").
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def translate_message(message: str, locale: str) -> str:
    """``message`` in ``locale``: a :class:`~alianza.problems.Message` said in it; else from
    the catalogue when it is a msgid, else by pydantic's pattern when it is one of pydantic's;
    else as it is (English)."""
    if not message:
        return message
    if isinstance(message, Message):
        return i18n.say(locale, message)
    translated = i18n.translations(locale).gettext(message)
    if translated != message or locale == i18n.SOURCE_LOCALE:
        return translated
    for pattern, kind in PYDANTIC_MESSAGES:
        if (match := pattern.match(message)) is not None:
            return i18n.gettext(locale, VALIDATION_MESSAGES[kind], **match.groupdict())
    return message


def translate_problem(problem: Problem, locale: str) -> Problem:
    """The problem with its message in ``locale`` (see :func:`translate_message`)."""
    return Problem(problem.field, translate_message(problem.message, locale), problem.code)


def validation_problems(error: RequestValidationError, locale: str) -> list[Problem]:
    problems = []
    for item in error.errors():
        location = tuple(item.get("loc", ()))
        if location and location[0] in _LOCATIONS:
            location = location[1:]
        template = VALIDATION_MESSAGES.get(item.get("type", ""))
        if template is not None:
            message = i18n.gettext(locale, template, **(item.get("ctx") or {}))
        else:
            message = translate_message(error_message(item), locale)
        problems.append(Problem(field_path(location), message, item.get("type", "invalid")))
    return problems or [Problem("", i18n.gettext(locale, STATUS_MESSAGES[422][1]))]


def is_api(request: Request) -> bool:
    path = request.url.path
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def error_response(
    request: Request, status: int, problems: list[Problem], headers: dict[str, str] | None = None
) -> Response:
    """The API's error body, or the error page, for these problems (the first one leads)."""
    if is_api(request):
        body: dict[str, Any] = {
            "error": problems[0].as_dict(),
            "problems": [problem.as_dict() for problem in problems],
        }
        return JSONResponse(body, status_code=status, headers=headers)
    response = render(
        request, "error.html", {"status": status, "problems": problems}, status_code=status
    )
    response.headers.update(headers or {})
    return response


def _status_problem(request: Request, status: int, detail: Any = None) -> Problem:
    code, message = STATUS_MESSAGES.get(status, (f"http_{status}", N_("The request failed.")))
    locale = i18n.locale_of(request)
    if isinstance(detail, str) and detail and status not in (404, 405, 500):
        text = i18n.translations(locale).gettext(detail)  # a route's own message, if translated
    else:
        text = i18n.gettext(locale, message)
    return Problem("", text, code)


async def on_refused(request: Request, error: Exception) -> Response:
    assert isinstance(error, Refused)
    if isinstance(error, Forbidden):
        status = 403
    elif isinstance(error, NotFound):
        status = 404
    elif isinstance(error, Invalid):
        status = 422
    else:
        status = 409
    locale = i18n.locale_of(request)
    return error_response(request, status, [translate_problem(p, locale) for p in error.problems])


async def on_problem_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ProblemError)
    locale = i18n.locale_of(request)
    return error_response(request, 422, [translate_problem(p, locale) for p in error.problems])


async def on_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    return error_response(request, 422, validation_problems(error, i18n.locale_of(request)))


async def on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    headers = dict(error.headers or {})
    return error_response(
        request,
        error.status_code,
        [_status_problem(request, error.status_code, error.detail)],
        headers,
    )


async def on_out_of_range(request: Request, error: Exception) -> Response:
    """A number beyond what the database stores (an id of 2**70: SQLite's OverflowError,
    PostgreSQL's "integer out of range"): bad input, and nothing was written (rolled back)."""
    message = i18n.gettext(i18n.locale_of(request), N_("A number is out of range."))
    return error_response(request, 422, [Problem("", message, "out_of_range")])


async def on_unexpected(request: Request, error: Exception) -> Response:
    """A fault of ours: logged with its traceback here, a plain message to the client. This
    answer is made outside the middleware stack, so it carries the security headers itself."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    problem = _status_problem(request, 500)
    try:
        response = error_response(request, 500, [problem])
    except Exception:  # the error page itself failed (a template fault): plain text then
        log.exception("the error page failed too")
        response = PlainTextResponse(problem.message, status_code=500)
    response.headers.update(SECURITY_HEADERS)
    return response


async def on_not_signed_in(request: Request, error: Exception) -> Response:
    """Pages send the browser to the sign-in page (and back); the API answers 401."""
    if is_api(request):
        problem = Problem(
            "",
            i18n.gettext(i18n.locale_of(request), N_("Sign in first: send a valid bearer token.")),
            "not_signed_in",
        )
        return error_response(request, 401, [problem], {"WWW-Authenticate": "Bearer"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(target)}", status_code=303)


def install(app: FastAPI) -> None:
    from alianza.web.auth import NotSignedIn

    app.add_exception_handler(NotSignedIn, on_not_signed_in)
    app.add_exception_handler(Refused, on_refused)
    app.add_exception_handler(OverflowError, on_out_of_range)
    app.add_exception_handler(DataError, on_out_of_range)
    app.add_exception_handler(ProblemError, on_problem_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
