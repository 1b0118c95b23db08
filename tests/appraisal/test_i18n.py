"""The appraisal package's catalogues (the plan workbook's strings): every msgid translated in
es, fr and pt, placeholders kept."""

from __future__ import annotations

import re

import pytest

from alianza.appraisal import i18n


@pytest.mark.parametrize("domain", sorted(i18n.DOMAINS))
def test_the_catalogues_are_complete(domain: str) -> None:
    """Fails on any msgid that es, fr or pt lacks, leaves empty or marks fuzzy: run
    `python -m alianza.appraisal.i18n update`, then translate (docs/translations.md)."""
    template = i18n.extract(domain)
    assert len(template) > 100  # the extraction found the workbook's strings
    gaps = {
        locale: i18n.missing(i18n.read_catalog(locale, domain), template)
        for locale in i18n.TRANSLATED
    }
    assert gaps == {locale: [] for locale in i18n.TRANSLATED}


@pytest.mark.parametrize("domain", sorted(i18n.DOMAINS))
def test_placeholders_survive_translation(domain: str) -> None:
    placeholder = re.compile(r"%\(\w+\)s")
    for locale in i18n.TRANSLATED:
        for message in i18n.read_catalog(locale, domain):
            if message.id and message.string:
                expected = set(placeholder.findall(str(message.id)))
                assert set(placeholder.findall(str(message.string))) == expected, message.id


def test_a_string_is_given_in_the_language_asked() -> None:
    assert i18n.gettext("es", "Investments") == "Inversiones"
    assert i18n.gettext("pt", "%(what)s, year %(year)s", what="Quantidade", year=3) == (
        "Quantidade, ano 3"
    )
    assert i18n.gettext("de", "Investments") == "Investments"  # not ours: English
