"""Languages: every msgid translated in es, fr and pt; pages in the reader's language; the
locale chosen by cookie, then browser, then default; numbers and money formatted by Babel."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi import Depends, Request
from fastapi.testclient import TestClient

from alianza.web import i18n
from alianza.web.templating import make_environment, render
from tests.web.translation import assert_translated, untranslated

PLAN = Path(__file__).parents[2] / "examples" / "plans" / "fruit-veg-processing.plan.yaml"


def test_the_catalogues_are_complete() -> None:
    """Fails on any msgid of the templates or web code that es, fr or pt lacks, leaves empty
    or marks fuzzy: run `python -m alianza.web.i18n update`, then translate (docs/translations.md)."""
    template = i18n.extract()
    assert len(template) > 50  # the extraction found the templates and the Python code
    gaps = {locale: i18n.missing(i18n.read_catalog(locale), template) for locale in i18n.TRANSLATED}
    assert gaps == {locale: [] for locale in i18n.TRANSLATED}


def test_placeholders_survive_translation() -> None:
    import re

    placeholder = re.compile(r"%\(\w+\)s")
    for locale in i18n.TRANSLATED:
        for message in i18n.read_catalog(locale):
            if not message.id or not message.string:
                continue
            ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
            strings = (
                message.string if isinstance(message.string, tuple | list) else (message.string,)
            )
            expected = set(placeholder.findall(ids[-1]))
            for string in strings:
                assert set(placeholder.findall(string)) == expected, (locale, message.id, string)


@pytest.mark.parametrize(
    ("cookie", "accept", "expected"),
    [
        (None, None, "en"),
        (None, "fr-CA,fr;q=0.9,en;q=0.8", "fr"),
        (None, "de-DE,pt;q=0.5,es;q=0.7", "es"),
        ("pt", "es", "pt"),
        ("xx", "de", "en"),
    ],
)
def test_locale_negotiation(cookie: str | None, accept: str | None, expected: str) -> None:
    assert i18n.negotiate(cookie, accept, "en") == expected


def test_the_default_locale_comes_from_the_settings(settings, migrated_template) -> None:  # noqa: ANN001
    from alianza.web.app import create_app

    app = create_app(settings.model_copy(update={"default_locale": "fr"}))
    with TestClient(app) as client:
        assert '<html lang="fr">' in client.get("/").text


def test_the_language_switcher_sets_the_cookie(user_client: TestClient) -> None:
    response = user_client.get("/language/pt", params={"next": "/plans/appraise"})
    assert response.url.path == "/plans/appraise"
    assert '<html lang="pt">' in response.text
    assert "Avaliação de planos" in response.text


@pytest.mark.parametrize("locale", i18n.TRANSLATED)
@pytest.mark.parametrize("path", ["/", "/plans/appraise", "/no-such-page"])
def test_pages_show_no_english_msgid(user_client: TestClient, locale: str, path: str) -> None:
    html = user_client.get(path, headers={"Accept-Language": locale}).text
    assert f'<html lang="{locale}">' in html
    assert_translated(html, locale)


@pytest.mark.parametrize("locale", i18n.TRANSLATED)
def test_the_appraisal_page_shows_no_english_msgid(user_client: TestClient, locale: str) -> None:
    response = user_client.post(
        "/plans/appraise",
        files={"file": (PLAN.name, PLAN.read_bytes())},
        headers={"Accept-Language": locale},
    )
    assert response.status_code == 200
    assert_translated(response.text, locale)


def test_the_checker_catches_english(user_client: TestClient) -> None:
    html = user_client.get("/plans/appraise").text  # English page
    assert "Plan appraisal" in untranslated(html, "es")


def _render(source: str, locale: str, **context: object) -> str:
    return make_environment().from_string(source).render(locale=locale, **context)


def test_number_money_percent_and_date_filters_follow_the_locale() -> None:
    source = (
        "{{ 1234567.891 | number }}|{{ 1234.5 | money('USD') }}|{{ 0.1234 | percent }}|"
        "{{ 2.5 | decimal(2) }}|{{ day | date }}|{{ none | money('USD') }}"
    )
    day = date(2026, 12, 1)
    english = _render(source, "en", day=day, none=None)
    spanish = _render(source, "es", day=day, none=None)
    french = _render(source, "fr", day=day, none=None)
    assert english == "1,234,567.891|$1,234.50|12.3%|2.50|Dec 1, 2026|—"
    assert spanish.split("|")[0] == "1.234.567,891"
    assert spanish.split("|")[1].startswith("1234,50") or spanish.split("|")[1].startswith(
        "1.234,50"
    )
    assert "dic" in spanish.split("|")[4]
    assert french.split("|")[2].replace("\u202f", " ").replace("\xa0", " ") == "12,3 %"


def test_trans_blocks_and_plurals_translate() -> None:
    source = "{% trans %}Plan appraisal{% endtrans %}|{{ ngettext('%(num)s problem', '%(num)s problems', n) }}"
    assert _render(source, "es", n=1) == "Evaluación de planes|1 problema"
    assert _render(source, "fr", n=3) == "Évaluation de plans|3 problèmes"
    assert _render(source, "en", n=2) == "Plan appraisal|2 problems"


def test_auth_can_set_the_locale_of_a_request(app) -> None:  # noqa: ANN001
    """The hook for the signed-in user's saved language: it wins over cookie and browser."""

    def saved_preference(request: Request) -> None:
        i18n.set_locale(request, "pt")

    @app.get("/saved-language", dependencies=[Depends(saved_preference)])
    def page(request: Request):  # noqa: ANN202
        return render(request, "home.html")

    with TestClient(app, cookies={"lang": "es"}) as client:
        response = client.get("/saved-language", headers={"Accept-Language": "fr"})
    assert response.status_code == 200
    assert '<html lang="pt">' in response.text
