"""Every message the services and the web give a person can be said in each language.

A refusal's reason, an import row's problem: written as an
:class:`~alianza.problems.Message` (a msgid and its values), never as a ready-made English
string, so that the API's error bodies and the pages say it in the reader's language. The
first test reads the code (a refusal written as an f-string fails it, with where); the others
show a refusal said in Spanish over the API and on a page.
"""

from __future__ import annotations

import ast
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from alianza.problems import Message
from alianza.web import i18n

SOURCES = Path(i18n.__file__).resolve().parents[1]
# An exception or problem whose words a person reads, and which argument holds them.
WORDS_ARGUMENT = {"Refused": 0, "NotFound": 0, "Forbidden": 0, "Problem": 1}
# Where people read them: the services (the results framework's labels are the reports'
# domain), the simulator's files (scenarios, catalogues, records) and the web.
CHECKED = ("platform", "ladder", "web")


def _ready_made(node: ast.expr) -> bool:
    """Words already put together in English: a literal, an f-string, a concatenation or
    ``str.format`` / ``str.join`` of them."""
    if isinstance(node, ast.IfExp):
        return _ready_made(node.body) or _ready_made(node.orelse)
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(node.value)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _ready_made(node.left) or _ready_made(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("format", "join") and isinstance(
            node.func.value, ast.Constant | ast.JoinedStr
        )
    return False


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def ready_made_messages() -> list[str]:
    found = []
    for folder in CHECKED:
        for path in sorted((SOURCES / folder).rglob("*.py")):
            if "results" in path.relative_to(SOURCES).parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or (name := _called(node)) not in WORDS_ARGUMENT:
                    continue
                position = WORDS_ARGUMENT[name]
                words = node.args[position] if len(node.args) > position else None
                for keyword in node.keywords:
                    if keyword.arg in ("reason", "message"):
                        words = keyword.value
                if words is not None and _ready_made(words):
                    found.append(f"{path.relative_to(SOURCES)}:{node.lineno}: {name}")
    return found


def test_no_service_writes_its_words_in_english_only() -> None:
    assert ready_made_messages() == []


def test_the_checker_finds_an_f_string() -> None:
    call = ast.parse('Refused(f"tranche {n} is late", rule="x")').body[0]
    assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
    assert _ready_made(call.value.args[0])
    message = ast.parse('Refused(Message("tranche %(n)s is late", n=n))').body[0]
    assert isinstance(message, ast.Expr) and isinstance(message.value, ast.Call)
    assert not _ready_made(message.value.args[0])


def test_a_message_is_its_english_text_and_says_itself_in_each_language() -> None:
    message = Message(
        "tranche %(number)s of %(amount)s is due on %(day)s",
        number=2,
        amount=Decimal("12500.50"),
        day=date(2026, 3, 1),
    )
    assert message == "tranche 2 of 12,500.50 is due on Mar 1, 2026"
    assert message.say("es", lambda template: template) == (
        "tranche 2 of 12.500,50 is due on 1 mar 2026"
    )
    assert i18n.say("en", message) == message


@pytest.mark.parametrize("locale", i18n.TRANSLATED)
def test_every_message_of_the_services_is_translated(locale: str) -> None:
    """The catalogues hold every msgid the services write (python -m alianza.web.i18n check
    says which are missing)."""
    template = i18n.extract()
    assert i18n.missing(i18n.read_catalog(locale), template) == []
