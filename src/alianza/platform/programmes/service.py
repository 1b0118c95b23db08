"""Programmes, users, roles and exchange rates; :class:`Actor` is who acts, in which programme.

Every other service takes an :class:`Actor`: it checks the permission the operation needs and
only ever reads or writes rows of ``actor.programme_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from alianza.platform.audit.service import now, record, record_for, snapshot
from alianza.platform.db import Base
from alianza.platform.errors import Forbidden, NotFound, Refused
from alianza.platform.programmes.models import ExchangeRate, Programme, Role, User
from alianza.platform.programmes.schemas import (
    ROLES,
    ExchangeRateIn,
    ProgrammeIn,
    UserIn,
    currency_code,
)
from alianza.platform.validation import validated

_hasher = PasswordHasher()

RowT = TypeVar("RowT", bound=Base)


@dataclass(frozen=True)
class Actor:
    """A user acting in one programme with one role, on one session."""

    session: Session
    user_id: int
    programme_id: int
    role: str

    @property
    def permissions(self) -> frozenset[str]:
        return ROLES[self.role]

    def require(self, permission: str) -> None:
        """Refuse unless this actor's role grants ``permission``."""
        if permission not in self.permissions:
            raise Forbidden(
                f"role {self.role!r} may not {permission} in this programme", rule="roles"
            )

    def programme(self) -> Programme:
        programme = self.session.get(Programme, self.programme_id)
        assert programme is not None
        return programme


def get(actor: Actor, model: type[RowT], row_id: int) -> RowT:
    """A row of the actor's programme, or NotFound (another programme's rows look absent)."""
    actor.require("read")
    row = actor.session.get(model, row_id)  # identity map first: no query for loaded rows
    if row is None or row.programme_id != actor.programme_id:  # type: ignore[attr-defined]
        raise NotFound(f"no {model.__tablename__[:-1]} {row_id} in this programme")
    return row


def create_user(session: Session, data: UserIn | dict[str, Any]) -> User:
    """A new user with an argon2 hash of their password."""
    user_in = validated(UserIn, data)
    if session.scalar(select(User.id).where(User.username == user_in.username)) is not None:
        raise Refused(f"username {user_in.username!r} is taken", rule="unique username")
    user = User(
        username=user_in.username,
        display_name=user_in.display_name,
        password_hash=_hasher.hash(user_in.password),
        created_at=now(),
    )
    session.add(user)
    session.flush()
    after = snapshot(user)
    after.pop("password_hash")
    record(session, programme_id=None, user_id=user.id, action="create", row=user, after=after)
    return user


def authenticate(session: Session, username: str, password: str) -> User:
    """The user whose password this is, or :class:`Refused` (same message for both failures)."""
    user = session.scalar(select(User).where(User.username == username))
    try:
        if user is None:
            raise VerificationError
        _hasher.verify(user.password_hash, password)
    except VerificationError:
        raise Refused("unknown user or wrong password") from None
    return user


def create_programme(session: Session, data: ProgrammeIn | dict[str, Any], admin: User) -> Actor:
    """A new programme with ``admin`` as its first administrator; returns that admin's Actor."""
    programme_in = validated(ProgrammeIn, data)
    existing = session.scalar(select(Programme.id).where(Programme.code == programme_in.code))
    if existing is not None:
        raise Refused(f"programme code {programme_in.code!r} is taken", rule="unique code")
    programme = Programme(**programme_in.model_dump(), created_at=now())
    session.add(programme)
    session.flush()
    session.add(Role(programme_id=programme.id, user_id=admin.id, role="admin"))
    record(session, programme_id=programme.id, user_id=admin.id, action="create", row=programme)
    return act_as(session, admin.id, programme.id)


def user_by_username(session: Session, username: str) -> User:
    """The user called ``username``, or Refused."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise Refused(f"no user {username!r}")
    return user


def programme_by_code(session: Session, code: str) -> Programme:
    """The programme with ``code``, or Refused."""
    programme = session.scalar(select(Programme).where(Programme.code == code))
    if programme is None:
        raise Refused(f"no programme {code!r}")
    return programme


def programmes_with_roles(session: Session) -> list[tuple[Programme, list[tuple[str, str]]]]:
    """Every programme (by code) with its users' (username, role), by username: one query."""
    rows = session.execute(
        select(Programme, User.username, Role.role)
        .outerjoin(Role, Role.programme_id == Programme.id)
        .outerjoin(User, User.id == Role.user_id)
        .order_by(Programme.code, User.username)
    )
    grouped: dict[int, tuple[Programme, list[tuple[str, str]]]] = {}
    for programme, username, role in rows:
        _, roles = grouped.setdefault(programme.id, (programme, []))
        if username is not None:
            roles.append((username, role))
    return list(grouped.values())


def act_as(session: Session, user_id: int, programme_id: int) -> Actor:
    """The Actor for a user in a programme; refused when the user holds no role there."""
    role = session.scalar(
        select(Role.role).where(Role.user_id == user_id, Role.programme_id == programme_id)
    )
    if role is None:
        raise Forbidden("user has no role in this programme", rule="roles")
    return Actor(session=session, user_id=user_id, programme_id=programme_id, role=role)


def grant_role(actor: Actor, user_id: int, role: str) -> Role:
    """Give (or change) a user's role in the actor's programme; admins only."""
    actor.require("admin")
    if role not in ROLES:
        raise Refused(f"role must be one of {sorted(ROLES)}, got {role!r}")
    if actor.session.get(User, user_id) is None:
        raise NotFound(f"no user {user_id}")
    existing = actor.session.scalar(
        select(Role).where(Role.user_id == user_id, Role.programme_id == actor.programme_id)
    )
    if existing is not None:
        before = snapshot(existing)
        existing.role = role
        record_for(actor, "update", existing, before=before)
        return existing
    granted = Role(programme_id=actor.programme_id, user_id=user_id, role=role)
    actor.session.add(granted)
    record_for(actor, "create", granted)
    return granted


def set_exchange_rate(actor: Actor, data: ExchangeRateIn | dict[str, Any]) -> ExchangeRate:
    """Record the rate of a currency against the reporting currency on a date (new rows only)."""
    actor.require("write")
    rate_in = validated(ExchangeRateIn, data)
    if rate_in.currency == actor.programme().reporting_currency:
        raise Refused("the reporting currency has rate 1 by definition")
    clash = actor.session.scalar(
        select(ExchangeRate.id).where(
            ExchangeRate.programme_id == actor.programme_id,
            ExchangeRate.currency == rate_in.currency,
            ExchangeRate.rate_date == rate_in.rate_date,
        )
    )
    if clash is not None:
        raise Refused(
            f"a {rate_in.currency} rate for {rate_in.rate_date} exists already",
            rule="one rate per currency and date",
        )
    rate = ExchangeRate(programme_id=actor.programme_id, **rate_in.model_dump())
    actor.session.add(rate)
    record_for(actor, "create", rate)
    return rate


def rate_on(actor: Actor, currency: str, on: date) -> Decimal:
    """Units of ``currency`` per reporting unit, from the latest rate dated on or before ``on``."""
    actor.require("read")
    currency = currency_code(currency)
    if currency == actor.programme().reporting_currency:
        return Decimal(1)
    rate = actor.session.scalar(
        select(ExchangeRate.units_per_reporting_unit)
        .where(
            ExchangeRate.programme_id == actor.programme_id,
            ExchangeRate.currency == currency,
            ExchangeRate.rate_date <= on,
        )
        .order_by(ExchangeRate.rate_date.desc())
        .limit(1)
    )
    if rate is None:
        raise Refused(f"no {currency} exchange rate on or before {on}", rule="dated rates")
    return Decimal(rate)


def to_reporting_currency(actor: Actor, amount: Decimal, currency: str, on: date) -> Decimal:
    """``amount`` of ``currency`` in the reporting currency on ``on``.

    Rounded half-even to cents here: a roll-up is a report, the ledger keeps the exact amounts.
    """
    converted = Decimal(amount) / rate_on(actor, currency, on)
    return converted.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
