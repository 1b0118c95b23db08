"""Languages of what the appraisal package writes for people: the reports (table, XLSX, PDF)
and the plan workbook's labels, lists and instructions.

Strings are written in English inside ``N_()`` and translated with a gettext domain of their
own: ``reports`` or ``workbook``, in ``locale/{es,fr,pt}/LC_MESSAGES/<domain>.po`` beside this
file, read at first use with Babel (no compile step; a fuzzy or empty entry shows the English).
Numbers, money and dates are formatted by Babel for the reader's language.
``python -m alianza.web.i18n update|check`` keeps both domains' catalogues with the web's
(docs/translations.md). Pure: this module knows nothing of platform, web or cli.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent, get_currency_symbol
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "es", "fr", "pt")
SOURCE_LANGUAGE = "en"
DOMAIN = "reports"  # the reports' labels
WORKBOOK_DOMAIN = "workbook"  # the plan workbook's
LOCALE_DIR = Path(__file__).parent / "locale"


def N_(message: str) -> str:
    """Mark a label for extraction; it is translated where it is shown."""
    return message


def po_path(language: str, domain: str = DOMAIN) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"


@cache
def translations(language: str, domain: str = DOMAIN) -> NullTranslations:
    """The translations of ``language`` in ``domain`` (fuzzy entries left out); English and
    an unknown language give the strings as written."""
    path = po_path(language, domain)
    if language == SOURCE_LANGUAGE or not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=domain)


def gettext(language: str, message: str, domain: str = DOMAIN, **variables: object) -> str:
    """``message`` in ``language``, with ``%(name)s`` placeholders filled from ``variables``."""
    text = translations(language, domain).gettext(message)
    return text % variables if variables else text


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"a report is in one of {', '.join(LANGUAGES)}, not {language!r}")
    return language


@dataclass(frozen=True)
class Texts:
    """A report's language: its labels and its way of writing numbers."""

    language: str = SOURCE_LANGUAGE

    def __post_init__(self) -> None:
        check_language(self.language)

    def __call__(self, message: str, **variables: object) -> str:
        text = translations(self.language).gettext(message)
        return text % variables if variables else text

    def money(self, value: float | None) -> str:
        """An amount to the cent, grouped as the language writes it ('1,234.50', '1.234,50')."""
        if value is None:
            return "—"
        return format_decimal(value, format="#,##0.00", locale=self.language)

    def decimal(self, value: float | None, digits: int = 2) -> str:
        if value is None:
            return "—"
        return format_decimal(value, format="#,##0." + "0" * digits, locale=self.language)

    def integer(self, value: int | float | None) -> str:
        return "—" if value is None else format_decimal(value, format="#,##0", locale=self.language)

    def percent(self, value: float | None, digits: int = 2) -> str:
        if value is None or value != value:  # None or nan
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return format_percent(value, format=pattern, locale=self.language)

    def signed_percent(self, value: float | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        return ("+" if value > 0 else "") + self.percent(value, digits)

    def date(self, value: date) -> str:
        return format_date(value, format="long", locale=self.language)

    def currency_symbol(self, code: str) -> str:
        return get_currency_symbol(code, locale=self.language)
