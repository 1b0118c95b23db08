"""Checking that a rendered page is in its language: no English msgid of ours shows through.

For any page (the lead's recipe, in docs/translations.md):

    from tests.web.translation import assert_translated
    response = client.get("/calls", headers={"Accept-Language": "es"})
    assert_translated(response.text, "es")
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser

from alianza.web import i18n

# Attributes a person reads (or hears, with a screen reader).
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label"}
_PLACEHOLDER = re.compile(r"%\(\w+\)[sdf]")
_WORD = re.compile(r"[^\W\d_]{2,}")


class VisibleText(HTMLParser):
    """The text chunks of a page a person sees: text nodes outside <script>/<style>, the
    <title>, and the readable attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self.chunks.append(" ".join(value.split()))
            if tag == "input" and name == "value" and value and ("type", "submit") in attrs:
                self.chunks.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and (text := " ".join(data.split())):
            self.chunks.append(text)


def visible_text(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.chunks


@cache
def _patterns(locale: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """A pattern per msgid whose translation in ``locale`` differs from the English: the
    msgid as a whole chunk of text, its placeholders matching anything."""
    translations = i18n.translations(locale)
    # Words that are right in both languages: an English msgid that is also a translation
    # ("Principal" is English for a loan's capital and Spanish for "Main") is not a gap.
    translated = {
        string
        for message in i18n.read_catalog(locale)
        for string in (
            message.string if isinstance(message.string, tuple | list) else (message.string,)
        )
        if string
    }
    patterns = []
    for message in i18n.extract():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        for msgid in ids:
            if msgid in translated or (translations.gettext(msgid) == msgid and len(ids) == 1):
                continue  # the same word in both languages ("API", "Menu" in French)
            if _PLACEHOLDER.search(msgid) and len(_WORD.findall(_PLACEHOLDER.sub("", msgid))) < 2:
                continue  # a joint of values ("%(first)s and %(next)s"): it matches any text
            body = ".+?".join(re.escape(part) for part in _PLACEHOLDER.split(msgid))
            patterns.append((msgid, re.compile(rf"^{body}$", re.DOTALL)))
    return tuple(patterns)


def untranslated(html: str, locale: str) -> list[str]:
    """The English msgids of ours that ``html`` shows as they are, in a ``locale`` page."""
    chunks = visible_text(html)
    found = []
    for msgid, pattern in _patterns(locale):
        if any(pattern.match(chunk) for chunk in chunks):
            found.append(msgid)
    return found


def assert_translated(html: str, locale: str) -> None:
    shown = untranslated(html, locale)
    assert not shown, f"English text on a {locale} page (not translated): {shown}"
