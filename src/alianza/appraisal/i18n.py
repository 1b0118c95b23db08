"""Languages of what the appraisal package writes for people (the plan workbook's labels,
lists and instructions), the same way the web app translates (``alianza.web.i18n``).

English is the source language: each string is written in English in the code, marked
``N_("...")`` where it is defined and translated where it is written, and
``locale/{es,fr,pt}/LC_MESSAGES/<domain>.po`` hold the translations, read with Babel when first
needed (no compile step). A fuzzy or empty entry counts as untranslated and shows the English.
Pure: this module knows nothing of platform, web or cli.

Maintainers (docs/translations.md)::

    python -m alianza.appraisal.i18n update   # extract every msgid, merge into the .po files
    python -m alianza.appraisal.i18n check    # what is missing in each language (exit 1 if any)
"""

from __future__ import annotations

import io
import sys
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations

PACKAGE = Path(__file__).parent
LOCALE_DIR = PACKAGE / "locale"
SOURCE_LOCALE = "en"
LANGUAGES = ("en", "es", "fr", "pt")
TRANSLATED = tuple(language for language in LANGUAGES if language != SOURCE_LOCALE)
# Each domain's catalogue and the modules its msgids are extracted from.
DOMAINS = {"workbook": ("workbook.py",)}


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now; translate it where it is
    written, in the reader's language."""
    return message


def po_path(locale: str, domain: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{domain}.po"


def read_catalog(locale: str, domain: str) -> Catalog:
    with po_path(locale, domain).open("rb") as handle:
        return read_po(handle, locale=locale, domain=domain)


@cache
def translations(locale: str, domain: str) -> NullTranslations:
    """The translations of ``locale`` in ``domain`` (fuzzy entries left out, as gettext
    does); English and unknown languages give the msgids themselves."""
    if locale not in TRANSLATED or not po_path(locale, domain).exists():
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(locale, domain), use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=domain)


def gettext(locale: str, message: str, domain: str = "workbook", **variables: Any) -> str:
    """``message`` in ``locale``, with ``%(name)s`` placeholders filled from ``variables``."""
    text = translations(locale, domain).gettext(message)
    return text % variables if variables else text


def extract(domain: str) -> Catalog:
    """Every msgid of a domain's modules, as a template catalogue."""
    template = Catalog(project="alianza", domain=domain, charset="utf-8")
    for module in DOMAINS[domain]:
        for lineno, message, comments, context in extract_from_file(
            "python", PACKAGE / module, strip_comment_tags=True
        ):
            template.add(message, None, [(module, lineno)], auto_comments=comments, context=context)
    return template


def missing(catalog: Catalog, template: Catalog) -> list[str]:
    """The msgids of ``template`` that ``catalog`` lacks, leaves empty or marks fuzzy."""
    absent = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        if found is None or found.fuzzy or not found.string:
            absent.append(str(message.id))
    return absent


def update() -> None:
    """Merge the extracted msgids into each .po file (new ones empty; vanished ones dropped)."""
    for domain in DOMAINS:
        template = extract(domain)
        for locale in TRANSLATED:
            path = po_path(locale, domain)
            if path.exists():
                catalog = read_catalog(locale, domain)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                catalog = Catalog(locale=locale, domain=domain, project="alianza")
            catalog.update(template, no_fuzzy_matching=True)
            with path.open("wb") as handle:
                write_po(handle, catalog, width=100, ignore_obsolete=True)
            absent = len(missing(catalog, template))
            print(f"{path}: {absent} to translate of {len(template)}")


def check() -> int:
    status = 0
    for domain in DOMAINS:
        template = extract(domain)
        for locale in TRANSLATED:
            absent = missing(read_catalog(locale, domain), template)
            print(f"{domain} {locale}: {len(absent)} missing of {len(template)}")
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
    print("usage: python -m alianza.appraisal.i18n update|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
