"""The appraisal package's workbook catalogues (the plan workbook's strings): every msgid
translated in es, fr and pt, placeholders kept. The reports' catalogues are checked by
tests/appraisal/test_report.py, and both by `python -m alianza.web.i18n check`."""

from __future__ import annotations

import re

from alianza.appraisal.translations import WORKBOOK_DOMAIN, gettext
from alianza.web import i18n

WORKBOOK = i18n.WORKBOOK


def test_the_catalogues_are_complete() -> None:
    """Fails on any msgid that es, fr or pt lacks, leaves empty or marks fuzzy: run
    `python -m alianza.web.i18n update`, then translate (docs/translations.md)."""
    template = i18n.extract(WORKBOOK)
    assert len(template) > 100  # the extraction found the workbook's strings
    gaps = {
        locale: i18n.missing(i18n.read_catalog(locale, WORKBOOK), template)
        for locale in i18n.TRANSLATED
    }
    assert gaps == {locale: [] for locale in i18n.TRANSLATED}


def test_placeholders_survive_translation() -> None:
    placeholder = re.compile(r"%\(\w+\)s")
    for locale in i18n.TRANSLATED:
        for message in i18n.read_catalog(locale, WORKBOOK):
            if message.id and message.string:
                expected = set(placeholder.findall(str(message.id)))
                assert set(placeholder.findall(str(message.string))) == expected, message.id


def test_a_string_is_given_in_the_language_asked() -> None:
    assert gettext("es", "Investments", WORKBOOK_DOMAIN) == "Inversiones"
    assert gettext("pt", "%(what)s, year %(year)s", WORKBOOK_DOMAIN, what="Quantidade", year=3) == (
        "Quantidade, ano 3"
    )
    assert gettext("de", "Investments", WORKBOOK_DOMAIN) == "Investments"  # not ours: English
