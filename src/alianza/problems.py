"""One structured problem type for everything people give alianza: plans, kit catalogues,
scenarios, imports and refusals of the platform's rules.

A :class:`Problem` says where (the field path, ``investments[3].life_years``; empty for the
input as a whole), what kind (a short, stable ``code`` a program can test) and why (a
``message`` for a person). The CLI prints problems one per line; the API returns the first as
``{"error": {"code", "message", "field"}}`` and all of them under ``"problems"``. Pure: it
knows nothing of platform, web or cli.

A message is written in English as a :class:`Message`, which is a ``str`` that remembers its
template and values, so that the web can say it in the reader's language
(``Message.say``); the CLI prints it as it is.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Annotated, Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import NumberPattern, format_decimal
from pydantic import ValidatorFunctionWrapHandler, WrapValidator

# The code of a value that breaks a format's rule (the most common kind of problem).
INVALID = "invalid"


class Message(str):
    """Words for a person: ``Message("tranche %(number)s is not released yet", number=2)``.

    The value is the English text (the template filled with its values, numbers and dates
    written as Babel writes them in English), so a message is a ``str`` wherever one is
    expected; ``template`` is the msgid (extracted for translation by this class's name, see
    docs/translations.md) and ``variables`` its values, so that :meth:`say` can fill the
    translated template with the values written for the reader's locale."""

    template: str
    variables: Mapping[str, object]

    def __new__(cls, template: str, **variables: object) -> Message:
        message = super().__new__(cls, _fill(template, variables, SOURCE_LOCALE, None))
        message.template = template
        message.variables = variables
        return message

    def __reduce__(self) -> tuple[Any, ...]:  # pickled with its template (jobs, Dask)
        return (_message, (self.template, dict(self.variables)))

    def say(self, locale: str, gettext: Callable[[str], str]) -> str:
        """The message in ``locale``: its template through ``gettext`` (the locale's
        catalogue), filled with its values written for the locale (a value that is a message
        itself is said too)."""
        return _fill(gettext(self.template), self.variables, locale, gettext)


SOURCE_LOCALE = "en"


def _kept(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    return value if isinstance(value, Message) else handler(value)


# A model's field of words: a Message stays one (pydantic would copy it to a plain str), so
# that the web says it in the reader's language; its schema is a string's.
Words = Annotated[str, WrapValidator(_kept)]


def _message(template: str, variables: dict[str, object]) -> Message:
    return Message(template, **variables)


def _fill(
    template: str,
    variables: Mapping[str, object],
    locale: str,
    gettext: Callable[[str], str] | None,
) -> str:
    if not variables:
        return template
    return template % {name: _written(value, locale, gettext) for name, value in variables.items()}


def _written(value: object, locale: str, gettext: Callable[[str], str] | None) -> object:
    """A value as a reader of ``locale`` writes it: a decimal with its own decimals and the
    locale's separators (``1234.50`` -> ``1.234,50`` in es), a float to three decimals, a
    date in the medium format; integers (counts, years, ids) and text as they are."""
    if isinstance(value, Message):
        return value.say(locale, gettext) if gettext is not None else value
    if isinstance(value, Decimal) and value.is_finite():
        digits = max(0, -int(value.as_tuple().exponent))
        return _decimal_pattern(locale, digits).apply(value, _locale(locale))
    if isinstance(value, float):
        return format_decimal(value, locale=_locale(locale))
    if isinstance(value, datetime):
        return format_datetime(value, format="medium", locale=_locale(locale))
    if isinstance(value, date):
        return _date_written(value, locale)
    return value


# Messages are made by the thousand (a list's alerts): Babel's locale data and patterns are
# looked up once, and the dates of a list (a few distinct ones) written once each.
@cache
def _locale(locale: str) -> Locale:
    return Locale.parse(locale)


@cache
def _decimal_pattern(locale: str, digits: int) -> NumberPattern:
    pattern = copy.copy(_locale(locale).decimal_formats[None])
    pattern.frac_prec = (digits, digits)
    return pattern


@lru_cache(maxsize=4096)
def _date_written(day: date, locale: str) -> str:
    return format_date(day, format="medium", locale=_locale(locale))


# --- a message kept in a database ---------------------------------------------------------------
# A row keeps a message twice: its English text (readable in SQL and by the CLI) and, in a JSON
# column, its parts {"template": ..., "values": {...}}, so that a page can say it again in the
# reader's language (the jobs' messages, the subprojects' state-change notes).

# What each stored value keeps at most (an exception's text can be long).
STORED_VALUE_LENGTH = 4000


def message_parts(message: str) -> dict[str, Any] | None:
    """The parts that keep ``message`` as JSON: its template and values (a Decimal as its
    digits, a message within the message as its parts, numbers and text as they are, anything
    else as its text); None for plain text (a person's words, kept as typed)."""
    if not isinstance(message, Message):
        return None
    return {
        "template": message.template,
        "values": {name: _stored(value) for name, value in message.variables.items()},
    }


def from_parts(text: str, parts: Mapping[str, Any] | None) -> str:
    """The message that ``parts`` keep (see :func:`message_parts`), to be said in the reader's
    language; ``text`` as it is when there are no parts (plain text, or a row older than its
    parts column) or when they cannot make a message (parts edited by hand)."""
    if parts is None:
        return text
    try:
        return _message_of(parts)
    except (KeyError, TypeError, ValueError, AttributeError):
        return text


def _stored(value: object) -> Any:
    if isinstance(value, Message):
        return message_parts(value)
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return str(value)[:STORED_VALUE_LENGTH]


def _message_of(parts: Mapping[str, Any]) -> Message:
    return Message(
        parts["template"], **{name: _value(value) for name, value in parts["values"].items()}
    )


def _value(stored: Any) -> object:
    if isinstance(stored, dict) and "template" in stored:
        return _message_of(stored)
    if isinstance(stored, dict) and "decimal" in stored:
        return Decimal(stored["decimal"])
    return stored


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: ``field`` (path), ``message`` (why), ``code`` (kind)."""

    field: str
    message: str
    code: str = INVALID

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def as_dict(self) -> dict[str, Any]:
        """The problem as the API's error body gives it."""
        return {"code": self.code, "message": self.message, "field": self.field or None}


class ProblemError(ValueError):
    """An input refused for the problems listed (every one found, not only the first)."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


def field_path(location: tuple[int | str, ...]) -> str:
    """A pydantic error location as a reader writes it: ``("items", 3, "life")`` ->
    ``items[3].life``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path
