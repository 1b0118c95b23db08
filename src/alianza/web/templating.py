"""Pages: the Jinja2 environment, its translation callables and locale-aware filters.

One environment for the app; the translation callables and the filters read the locale from
the render context (``locale``, put there by :func:`render`), never from shared state, so two
requests in two languages can render at the same time.

In a template: ``{% trans %}Text{% endtrans %}`` or ``{{ _("Text") }}``, ``ngettext``;
filters ``number``, ``decimal(2)``, ``percent(1)``, ``money(currency)``, ``date``; globals
``csrf_input()`` (in every form) and ``url_for``. Macros: ``{% import "macros.html" as ui with
context %}`` (``with context``, so that they translate in the page's locale).
"""

from __future__ import annotations

import copy
import csv
import io
import math
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import NumberPattern, format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from alianza import __version__
from alianza.platform.access import Permission
from alianza.problems import Message
from alianza.web import i18n, labels

TEMPLATES = Path(__file__).parent / "templates"
MISSING = "—"  # shown for a figure that does not exist (an IRR that is not unique, no payback)

Number = int | float | Decimal


def _locale(context: Context) -> str:
    return context.get("locale") or i18n.SOURCE_LOCALE


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


@pass_context
def _gettext(context: Context, message: str) -> str:
    return i18n.translations(_locale(context)).gettext(message)


@pass_context
def _said(context: Context, value: Any) -> Any:
    """Every ``{{ value }}`` on a page: a service's :class:`~alianza.problems.Message` (a
    refusal, an import row's reason) is said in the page's locale wherever a page shows it."""
    return i18n.say(_locale(context), value) if isinstance(value, Message) else value


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return i18n.translations(_locale(context)).ngettext(singular, plural, n)


def _with_decimals(pattern: NumberPattern, digits: int) -> NumberPattern:
    """The locale's own pattern (grouping, where the % sign goes) with ``digits`` decimals."""
    fixed = copy.copy(pattern)
    fixed.frac_prec = (digits, digits)
    return fixed


@pass_context
def number_filter(context: Context, value: Number | None, digits: int | None = None) -> str:
    """A number in the reader's locale: ``1234.5`` -> ``1,234.5`` (en), ``1.234,5`` (es);
    ``digits`` fixes the decimals shown."""
    if _absent(value):
        return MISSING
    assert value is not None
    locale = Locale.parse(_locale(context))
    if digits is None:
        return format_decimal(value, locale=locale)
    return _with_decimals(locale.decimal_formats[None], digits).apply(value, locale)


@pass_context
def decimal_filter(context: Context, value: Number | None, digits: int = 2) -> str:
    """A number with exactly ``digits`` decimals (ratios, person-years)."""
    return number_filter(context, value, digits)


@pass_context
def percent_filter(context: Context, value: Number | None, digits: int = 1) -> str:
    """A rate as a percentage: ``0.1234`` -> ``12.3%`` (en), ``12,3 %`` (es, fr)."""
    if _absent(value):
        return MISSING
    assert value is not None
    locale = Locale.parse(_locale(context))
    return _with_decimals(locale.percent_formats[None], digits).apply(value, locale)


@pass_context
def money_filter(context: Context, value: Number | None, currency: str) -> str:
    """An amount with its currency, to the currency's own decimals: ``(1234.5, "USD")`` ->
    ``$1,234.50`` (en), ``1.234,50 US$`` (es), ``1 234,50 $US`` (fr)."""
    if _absent(value):
        return MISSING
    assert value is not None
    if len(currency) != 3 or not currency.isalpha():  # not an ISO 4217 code: number, then unit
        return f"{number_filter(context, value, 2)} {currency}"
    return format_currency(value, currency.upper(), locale=_locale(context))


@pass_context
def date_filter(context: Context, value: date | datetime | None, format: str = "medium") -> str:
    """A date (or date and time) in the reader's locale: ``1 dic 2026`` (es)."""
    if value is None:
        return MISSING
    if isinstance(value, datetime):
        return format_datetime(value, format=format, locale=_locale(context))
    return format_date(value, format=format, locale=_locale(context))


@pass_context
def csrf_input(context: Context) -> Markup:
    """The hidden CSRF field every form carries (auth sets ``request.state.csrf_token``)."""
    request = context.get("request")
    token = getattr(request.state, "csrf_token", "") if request is not None else ""
    return Markup(f'<input type="hidden" name="csrf_token" value="{escape(token or "")}">')


@pass_context
def static_url(context: Context, path: str) -> str:
    """A path to a file under static/ (a relative URL: right behind any proxy), versioned so
    that browsers fetch it again after an upgrade."""
    request: Request = context["request"]
    return f"{request.scope.get('root_path', '')}/static/{path}?v={__version__}"


@pass_context
def path_for(context: Context, name: str, /, **params: Any) -> str:
    """The path of the route called ``name`` (relative, unlike Starlette's ``url_for``)."""
    request: Request = context["request"]
    return f"{request.scope.get('root_path', '')}{request.app.url_path_for(name, **params)}"


def csv_data_url(columns: list[str], rows: list[list[Any]]) -> str:
    """A ``data:`` URL holding ``rows`` as CSV (for a chart's download link: no script, no
    request to the server)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return "data:text/csv;charset=utf-8," + quote(buffer.getvalue())


def chart_rows(spec: dict[str, Any]) -> list[list[Any]]:
    """A chart's numbers as rows: its label, then each dataset's value (for the CSV)."""
    datasets = spec["datasets"]
    return [
        [label, *(dataset["data"][i] for dataset in datasets)]
        for i, label in enumerate(spec["labels"])
    ]


def _label(table: dict[Any, str]) -> Any:
    @pass_context
    def label(context: Context, value: Any) -> str:
        text = table.get(value)
        return _gettext(context, text) if text else str(value)

    return label


@pass_context
def has_route(context: Context, name: str) -> bool:
    """Whether the app has a route called ``name`` (the menu shows only pages that exist)."""

    request: Request = context["request"]
    return name in _route_names(request.app.routes)


def _route_names(routes: Any) -> set[str]:
    """The names of ``routes`` and of the routes of the routers included among them
    (FastAPI >= 0.16x lists an included router as one entry wrapping its routes)."""
    names: set[str] = set()
    for route in routes:
        if (name := getattr(route, "name", None)) is not None:
            names.add(name)
        inner = getattr(route, "original_router", None)
        if inner is not None:
            names |= _route_names(inner.routes)
    return names


@pass_context
def can(context: Context, permission: str) -> bool:
    """Whether the signed-in actor's role grants ``permission`` (e.g. ``"cycle.decide"``)."""
    actor = context.get("actor")
    return actor is not None and actor.can(Permission(permission))


def make_environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_said,
    )
    environment.policies["ext.i18n.trimmed"] = True  # msgids without the template's layout
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.filters.update(
        number=number_filter,
        decimal=decimal_filter,
        percent=percent_filter,
        money=money_filter,
        date=date_filter,
    )
    environment.globals.update(
        csrf_input=csrf_input,
        static_url=static_url,
        path_for=path_for,
        csv_data_url=csv_data_url,
        chart_rows=chart_rows,
        languages=i18n.LANGUAGE_NAMES,
        role_label=_label(labels.ROLES),
        scope_label=_label(labels.SCOPES),
        state_label=_label(labels.STATES),
        has_route=has_route,
        can=can,
    )
    return environment


def _page_context(request: Request) -> dict[str, Any]:
    return {
        "locale": i18n.locale_of(request),
        "user": getattr(request.state, "user_view", None) or getattr(request.state, "user", None),
        "actor": getattr(request.state, "actor", None),
    }


templates = Jinja2Templates(env=make_environment(), context_processors=[_page_context])


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """The page ``name`` rendered in the request's locale."""
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code)
