from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from alianza.platform.audit.service import entries
from alianza.platform.errors import Forbidden, Invalid, NotFound, Refused
from alianza.platform.ledger.service import balances, get_account, open_account
from alianza.platform.programmes.schemas import ProgrammeIn
from alianza.platform.programmes.service import (
    Actor,
    act_as,
    authenticate,
    create_programme,
    create_user,
    grant_role,
    rate_on,
    set_exchange_rate,
    to_reporting_currency,
)
from alianza.platform.validation import validated
from alianza.problems import Message


def test_passwords_are_hashed_and_checked(session: Session) -> None:
    user = create_user(
        session, {"username": "luis", "display_name": "Luis", "password": "long-enough"}
    )
    assert "long-enough" not in user.password_hash
    assert authenticate(session, "luis", "long-enough").id == user.id
    with pytest.raises(Refused, match="wrong password"):
        authenticate(session, "luis", "wrong-password")


def test_roles_are_per_programme(session: Session, admin: Actor) -> None:
    viewer = create_user(
        session, {"username": "vic", "display_name": "Vic", "password": "password1"}
    )
    with pytest.raises(Forbidden):
        act_as(session, viewer.id, admin.programme_id)
    grant_role(admin, viewer.id, {"role": "auditor"})
    as_viewer = act_as(session, viewer.id, admin.programme_id)
    with pytest.raises(Forbidden, match="may not do ledger.post"):
        open_account(as_viewer, {"kind": "po", "name": "PO", "currency": "HNL"})
    with pytest.raises(Forbidden, match="may not do users.admin"):
        grant_role(as_viewer, viewer.id, {"role": "administrator"})
    with pytest.raises(Refused, match="role: Input should be 'administrator'"):
        grant_role(admin, viewer.id, {"role": "king"})


def test_exchange_rates_are_dated(admin: Actor) -> None:
    set_exchange_rate(
        admin,
        {"currency": "hnl", "rate_date": date(2025, 1, 1), "units_per_reporting_unit": "24.50"},
    )
    set_exchange_rate(
        admin,
        {"currency": "HNL", "rate_date": date(2025, 7, 1), "units_per_reporting_unit": "25.00"},
    )
    assert rate_on(admin, "HNL", date(2025, 6, 30)) == Decimal("24.5")
    assert rate_on(admin, "HNL", date(2026, 1, 1)) == Decimal("25")
    assert to_reporting_currency(admin, Decimal("2450.00"), "HNL", date(2025, 3, 1)) == Decimal(
        "100.00"
    )
    assert to_reporting_currency(admin, Decimal("5"), "USD", date(2025, 3, 1)) == Decimal("5.00")
    with pytest.raises(Refused, match="no HNL exchange rate on or before Dec 31, 2024"):
        rate_on(admin, "HNL", date(2024, 12, 31))
    with pytest.raises(Refused, match="exists already"):
        set_exchange_rate(
            admin,
            {"currency": "HNL", "rate_date": date(2025, 7, 1), "units_per_reporting_unit": "26"},
        )
    with pytest.raises(Refused, match="units_per_reporting_unit"):
        set_exchange_rate(
            admin,
            {"currency": "HNL", "rate_date": date(2025, 8, 1), "units_per_reporting_unit": "-1"},
        )


def test_changes_are_audited_with_before_and_after(session: Session, admin: Actor) -> None:
    user = create_user(session, {"username": "eva", "display_name": "Eva", "password": "password1"})
    grant_role(admin, user.id, {"role": "auditor"})
    grant_role(admin, user.id, {"role": "programme_manager"})
    role_changes = entries(admin, entity="roles")
    assert [e.action for e in role_changes] == ["create", "update"]
    assert role_changes[1].before["role"] == "auditor"
    assert role_changes[1].after["role"] == "programme_manager"
    assert role_changes[1].user_id == admin.user_id


def test_nothing_of_one_programme_is_visible_from_another(session: Session, admin: Actor) -> None:
    other_user = create_user(
        session, {"username": "mw", "display_name": "M", "password": "password1"}
    )
    other = create_programme(
        session, {"code": "MI-MW", "name": "Malawi MI", "reporting_currency": "USD"}, other_user
    )
    mine = open_account(admin, {"kind": "po", "name": "Cooperativa", "currency": "HNL"})
    open_account(other, {"kind": "po", "name": "Club", "currency": "MWK"})
    with pytest.raises(NotFound):
        get_account(other, mine.id)
    assert [b.name for b in balances(other)] == ["Club"]
    assert all(e.programme_id == other.programme_id for e in entries(other))
    # a user of one programme cannot act in the other
    with pytest.raises(Forbidden):
        act_as(session, other_user.id, admin.programme_id)


def test_accounts_are_held_only_for_records_of_the_programme(
    session: Session, admin: Actor
) -> None:
    from alianza.platform.registry.service import add_organization

    other_user = create_user(
        session, {"username": "o2", "display_name": "O", "password": "password1"}
    )
    other = create_programme(
        session, {"code": "OTHER", "name": "Other", "reporting_currency": "USD"}, other_user
    )
    theirs = add_organization(other, {"kind": "buyer", "name": "Their buyer"})
    with pytest.raises(NotFound):
        open_account(
            admin,
            {"kind": "buyer", "name": "Sneaky", "currency": "HNL", "organization_id": theirs.id},
        )


def test_a_programme_cannot_disable_a_user_who_works_in_another(
    session: Session, admin: Actor
) -> None:
    from alianza.platform.programmes.service import revoke_role, set_disabled

    shared = create_user(
        session, {"username": "sol", "display_name": "Sol", "password": "password1"}
    )
    grant_role(admin, shared.id, {"role": "auditor"})
    other_admin_user = create_user(
        session, {"username": "otto", "display_name": "Otto", "password": "password1"}
    )
    other = create_programme(
        session,
        {"code": "PA-BO", "name": "Alianzas Bolivia", "reporting_currency": "USD"},
        other_admin_user,
    )
    grant_role(other, shared.id, {"role": "auditor"})
    with pytest.raises(Refused, match="also holds a role in 1 other programme"):
        set_disabled(admin, shared.id, True)
    assert shared.disabled_at is None
    revoke_role(admin, shared.id)  # what this programme may do: take its own role away
    act_as(session, shared.id, other.programme_id)  # still works in the other programme
    set_disabled(other, shared.id, True)  # now only the other programme's: it may disable
    assert shared.disabled_at is not None


def test_a_validators_message_keeps_its_template_for_the_reader() -> None:
    """A validator that raises ``ValueError(Message(...))`` gives a problem whose message is
    that Message (said in the reader's language by the web), not pydantic's English text."""
    with pytest.raises(Invalid) as refused:
        validated(ProgrammeIn, {"code": "P", "name": "P", "reporting_currency": "dollars"})
    (problem,) = refused.value.problems
    assert problem.field == "reporting_currency"
    assert problem.message == "currency must be a 3-letter ISO 4217 code, got 'dollars'"
    assert isinstance(problem.message, Message)
    assert problem.message.template == "currency must be a 3-letter ISO 4217 code, got %(value)s"
