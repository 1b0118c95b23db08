"""Languages of the web app: catalogues, the locale of a request, and the maintainer's commands.

English is the source language: every user-facing string is written in English inside ``_()``
(Python) or ``{% trans %}``/``_()`` (templates), and ``locale/{es,fr,pt}/LC_MESSAGES/messages.po``
hold the translations. The .po files are read at start-up (Babel) into in-memory catalogues, so
there is no compile step to forget; a fuzzy or empty entry counts as untranslated.

The locale of a request: ``request.state.locale`` when something (the signed-in user's saved
preference) set it, else the ``lang`` cookie set by the language switcher, else the browser's
Accept-Language, else the settings' default. :class:`LocaleMiddleware` fills
``request.state.locale`` first thing, so auth only overrides it.

Maintainers (docs/translations.md)::

    python -m alianza.web.i18n update   # extract every msgid, merge it into the three .po files
    python -m alianza.web.i18n check    # list what is missing in each language (exit 1 if any)
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from functools import cache
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from alianza.appraisal.translations import DOMAIN as REPORTS_DOMAIN
from alianza.appraisal.translations import LOCALE_DIR as REPORTS_LOCALE_DIR
from alianza.appraisal.translations import WORKBOOK_DOMAIN
from alianza.problems import Message
from alianza.settings import LOCALES

WEB = Path(__file__).parent
LOCALE_DIR = WEB / "locale"
DOMAIN = "messages"
SOURCE_LOCALE = "en"
TRANSLATED = tuple(locale for locale in LOCALES if locale != SOURCE_LOCALE)
COOKIE = "lang"

# Each language's name in that language, for the switcher (never translated).
LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français", "pt": "Português"}

# Where msgids are found: the web package's Python code and its templates, and the messages
# the platform's services and the simulator's files give people (refusals, import reports,
# a scenario's or a catalogue's problems); the results framework's
# labels belong to the reports' domain.
METHOD_MAP = [
    ("web/**.py", "python"),
    ("web/templates/**.html", "jinja2"),
    ("platform/results/**.py", "ignore"),
    ("platform/**.py", "python"),
    ("ladder/**.py", "python"),
    ("problems.py", "python"),
]
OPTIONS_MAP = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
# gettext's keywords, and alianza.problems.Message: its first argument is a msgid.
KEYWORDS = {**DEFAULT_KEYWORDS, "Message": None}


@dataclass(frozen=True)
class Domain:
    """A gettext domain: where its msgids are written and where its catalogues live."""

    name: str
    source: Path
    locale_dir: Path
    method_map: tuple[tuple[str, str], ...]
    options_map: dict[str, dict[str, str]]


MESSAGES = Domain(DOMAIN, WEB.parent, LOCALE_DIR, tuple(METHOD_MAP), OPTIONS_MAP)
# The appraisal reports (table, XLSX, PDF): labels in alianza.appraisal, read there by
# alianza.appraisal.translations (a pure package does not import the web).
REPORTS = Domain(
    REPORTS_DOMAIN,
    WEB.parent,
    REPORTS_LOCALE_DIR,
    # the plan workbook's labels are a domain of their own (WORKBOOK)
    (
        ("appraisal/workbook.py", "ignore"),
        ("appraisal/**.py", "python"),
        ("cli/plan.py", "python"),
        ("platform/results/**.py", "python"),
    ),
    {},
)
# The plan workbook's labels, lists and instructions (alianza.appraisal.workbook).
WORKBOOK = Domain(
    WORKBOOK_DOMAIN, WEB.parent, REPORTS_LOCALE_DIR, (("appraisal/workbook.py", "python"),), {}
)
DOMAINS = (MESSAGES, REPORTS, WORKBOOK)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now (module-level labels);
    translate it where it is shown, in the reader's locale."""
    return message


def po_path(locale: str, domain: Domain = MESSAGES) -> Path:
    return domain.locale_dir / locale / "LC_MESSAGES" / f"{domain.name}.po"


def read_catalog(locale: str, domain: Domain = MESSAGES) -> Catalog:
    with po_path(locale, domain).open("rb") as handle:
        return read_po(handle, locale=locale, domain=domain.name)


@cache
def translations(locale: str) -> NullTranslations:
    """The translations of ``locale``, read from its .po file once a process (fuzzy entries
    left out, as gettext does); English and unknown locales give the msgids themselves."""
    if locale not in TRANSLATED or not po_path(locale).exists():
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(locale), use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def gettext(locale: str, message: str, **variables: Any) -> str:
    """``message`` in ``locale``, with ``%(name)s`` placeholders filled from ``variables``."""
    text = translations(locale).gettext(message)
    return text % variables if variables else text


def say(locale: str, message: str) -> str:
    """A :class:`~alianza.problems.Message` (a service's refusal, an import's reason) in
    ``locale``; any other text as it is."""
    if isinstance(message, Message):
        return message.say(locale, translations(locale).gettext)
    return message


def ngettext(locale: str, singular: str, plural: str, n: int, **variables: Any) -> str:
    """The singular or plural form for ``n`` in ``locale``; ``%(num)s`` is ``n``."""
    variables.setdefault("num", n)
    return translations(locale).ngettext(singular, plural, n) % variables


# --- the locale of a request ----------------------------------------------------------------


def normalise(tag: str | None) -> str | None:
    """A language tag as one of ours: 'pt-BR' -> 'pt', 'es_419' -> 'es'; None if not ours."""
    if not tag:
        return None
    language = tag.strip().replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else None


def from_accept_language(header: str) -> str | None:
    """The first of our languages in an Accept-Language header, by quality then order."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if (language := normalise(tag)) is not None and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None


def negotiate(cookie: str | None, accept_language: str | None, default: str) -> str:
    """The locale of a request that nobody has set yet: cookie, else browser, else default."""
    return normalise(cookie) or from_accept_language(accept_language or "") or default


def locale_of(request: Request) -> str:
    """The locale a request is answered in (see the module's docstring)."""
    return getattr(request.state, "locale", None) or SOURCE_LOCALE


def set_locale(request: Request, locale: str) -> None:
    """The hook for auth: answer this request in the signed-in user's saved language."""
    if (chosen := normalise(locale)) is not None:
        request.state.locale = chosen


def translator(request: Request) -> NullTranslations:
    """The request's translations: ``_ = translator(request).gettext`` in a route."""
    return translations(locale_of(request))


class LocaleMiddleware:
    """Sets ``request.state.locale`` from the ``lang`` cookie, Accept-Language or the default."""

    def __init__(self, app: ASGIApp, default_locale: str = SOURCE_LOCALE) -> None:
        self.app = app
        self.default_locale = default_locale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {
                name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
            }
            cookie = None
            if raw := headers.get("cookie"):
                jar: SimpleCookie = SimpleCookie()
                try:
                    jar.load(raw)
                except Exception:  # a malformed cookie header only loses the choice
                    jar = SimpleCookie()
                if COOKIE in jar:
                    cookie = jar[COOKIE].value
            state = scope.setdefault("state", {})
            state["locale"] = negotiate(cookie, headers.get("accept-language"), self.default_locale)
        await self.app(scope, receive, send)


# --- maintainer commands: extract, update, check ------------------------------------------------


def extract(domain: Domain = MESSAGES) -> Catalog:
    """Every msgid of a domain (the web's: its Python code and templates), as a template
    catalogue."""
    template = Catalog(project="alianza", domain=domain.name, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        domain.source,
        list(domain.method_map),
        domain.options_map,
        keywords=KEYWORDS,
        strip_comment_tags=True,
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def missing(catalog: Catalog, template: Catalog) -> list[str]:
    """The msgids of ``template`` that ``catalog`` lacks, leaves empty or marks fuzzy."""
    absent = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        if found is None or found.fuzzy:
            absent.append(_first(message.id))
            continue
        strings = found.string if isinstance(found.string, tuple | list) else (found.string,)
        if not all(strings):
            absent.append(_first(message.id))
    return absent


def _first(msgid: str | tuple[str, ...] | list[str]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def update() -> None:
    """Merge the extracted msgids into each .po file (new ones empty; vanished ones obsolete)."""
    for domain in DOMAINS:
        template = extract(domain)
        for locale in TRANSLATED:
            path = po_path(locale, domain)
            if path.exists():
                catalog = read_catalog(locale, domain)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                catalog = Catalog(locale=locale, domain=domain.name, project="alianza")
            catalog.update(template, no_fuzzy_matching=True)
            with path.open("wb") as handle:
                write_po(handle, catalog, width=100, omit_header=False, ignore_obsolete=True)
            print(f"{path}: {len(missing(catalog, template))} to translate of {len(template)}")


def check() -> int:
    status = 0
    for domain in DOMAINS:
        template = extract(domain)
        for locale in TRANSLATED:
            absent = missing(read_catalog(locale, domain), template)
            print(f"{domain.name} {locale}: {len(absent)} missing of {len(template)}")
            for message in absent:
                print(f"  {message!r}")
            status = status or (1 if absent else 0)
    return status


def main(argv: list[str]) -> int:
    if argv == ["update"]:
        update()
        return 0
    if argv == ["check"]:
        return check()
    print("usage: python -m alianza.web.i18n update|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
