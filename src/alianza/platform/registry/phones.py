"""Phone numbers in E.164 (``+255712345678``), read with the country they were written in.

A programme has no country column: the country of a farmer's phone is the country place of
their village (its ``code`` when that is a two-letter region, else its name looked up in
:data:`COUNTRY_REGIONS`), unless the import names one (``--country TZ``). A number written
with its ``+`` country code needs no country; one without (``0712 345 678``) does.
"""

from __future__ import annotations

import unicodedata

import phonenumbers

from alianza.problems import Message

# Country names (English, Spanish, Portuguese, French; lower case, no accents) of the countries
# productive-alliance and micro-investing programmes work in, as phonenumbers' region codes.
COUNTRY_REGIONS: dict[str, str] = {
    "honduras": "HN", "guatemala": "GT", "el salvador": "SV", "nicaragua": "NI",
    "costa rica": "CR", "panama": "PA", "mexico": "MX", "colombia": "CO", "ecuador": "EC",
    "peru": "PE", "bolivia": "BO", "paraguay": "PY", "brazil": "BR", "brasil": "BR",
    "argentina": "AR", "chile": "CL", "uruguay": "UY", "haiti": "HT",
    "dominican republic": "DO", "republica dominicana": "DO", "jamaica": "JM",
    "malawi": "MW", "tanzania": "TZ", "united republic of tanzania": "TZ", "kenya": "KE",
    "uganda": "UG", "mozambique": "MZ", "mocambique": "MZ", "zambia": "ZM", "zimbabwe": "ZW",
    "rwanda": "RW", "burundi": "BI", "ethiopia": "ET", "ghana": "GH", "nigeria": "NG",
    "senegal": "SN", "mali": "ML", "burkina faso": "BF", "niger": "NE", "cameroon": "CM",
    "cameroun": "CM", "cote d'ivoire": "CI", "ivory coast": "CI", "madagascar": "MG",
    "south africa": "ZA", "angola": "AO", "south sudan": "SS", "sudan": "SD",
    "somalia": "SO", "democratic republic of the congo": "CD", "nepal": "NP",
    "bangladesh": "BD", "india": "IN", "myanmar": "MM", "cambodia": "KH", "laos": "LA",
    "philippines": "PH", "indonesia": "ID", "pakistan": "PK", "afghanistan": "AF",
}  # fmt: skip


def _plain(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())


def region_code(code: str | None) -> str | None:
    """``code`` as a phonenumbers region (``"tz"`` -> ``"TZ"``), or None if it is not one."""
    if not code:
        return None
    upper = code.strip().upper()
    return upper if upper in phonenumbers.SUPPORTED_REGIONS else None


def country_region(name: str, code: str | None = None) -> str | None:
    """The region of a country place: its code if that is a region, else its name, else None."""
    return region_code(code) or COUNTRY_REGIONS.get(_plain(name)) or region_code(name)


def normalise_phone(phone: str, region: str | None = None) -> str:
    """``phone`` in E.164, read in ``region`` when it has no ``+`` country code.

    Raises ValueError (its argument a :class:`~alianza.problems.Message`, the reason for a
    person) for text that is not a possible phone number (of its country's lengths;
    validity against the allocated ranges is not asked, as new ranges open every year). Without
    a region, a number with no ``+`` keeps its digits as they are (the registry cannot tell
    its country)."""
    text = phone.strip()
    if not text.startswith("+") and region is None:
        digits = "".join(ch for ch in text if ch.isdigit())
        if not 7 <= len(digits) <= 15 or any(ch.isalpha() for ch in text):
            raise ValueError(Message("a phone number has 7 to 15 digits"))
        return digits
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValueError(Message("'%(phone)s' is not a phone number", phone=phone)) from None
    if not phonenumbers.is_possible_number(parsed):
        if region and not text.startswith("+"):
            raise ValueError(
                Message(
                    "'%(phone)s' is not a possible phone number in %(region)s",
                    phone=phone,
                    region=region,
                )
            )
        raise ValueError(Message("'%(phone)s' is not a possible phone number", phone=phone))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
