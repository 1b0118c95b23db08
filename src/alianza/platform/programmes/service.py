"""Programmes, users, their role assignments (with scopes) and exchange rates.

Who acts, with which permissions and over which rows, is :mod:`alianza.platform.access`.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from alianza.platform.access import (
    ROLE_SCOPES,
    SCOPE_ORGANIZATION_KIND,
    SERVICE_ROLES,
    Actor,
    Permission,
    Role,
    ScopeKind,
    act_as,
    get,
    scoped,
)
from alianza.platform.audit.service import jsonable, now, record, record_for, snapshot
from alianza.platform.errors import NotFound, Refused
from alianza.platform.programmes.models import (
    ExchangeRate,
    Programme,
    RoleAssignment,
    RolePlace,
    User,
)
from alianza.platform.programmes.schemas import (
    ExchangeRateIn,
    ProgrammeIn,
    RoleIn,
    UserIn,
    currency_code,
)
from alianza.platform.registry.models import Organization, Place
from alianza.platform.subprojects.models import Subproject
from alianza.platform.validation import validated
from alianza.problems import Message

_hasher = PasswordHasher()

__all__ = ["Actor", "act_as", "get"]  # re-exported: callers that only need to act import here


def create_user(session: Session, data: UserIn | dict[str, Any]) -> User:
    """A new user with an argon2 hash of their password."""
    user_in = validated(UserIn, data)
    if session.scalar(select(User.id).where(_same_username(user_in.username))) is not None:
        raise Refused(
            Message("username '%(username)s' is taken", username=user_in.username),
            rule="unique username",
        )
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


def _same_username(username: str) -> Any:
    return func.lower(User.username) == username.lower()


@cache
def _unknown_user_hash() -> str:
    """Verified when the username is unknown, so that an unknown user costs as much argon2
    work as a wrong password (no user enumeration by timing)."""
    return _hasher.hash("no user has this password")


def authenticate(session: Session, username: str, password: str) -> User:
    """The enabled user whose password this is, or :class:`Refused` with one message for every
    failure (unknown user, wrong password, disabled), after the same argon2 work."""
    user = session.scalar(select(User).where(_same_username(username)))
    try:
        _hasher.verify(user.password_hash if user is not None else _unknown_user_hash(), password)
        if user is None or user.disabled_at is not None:
            raise VerificationError
    except VerificationError:
        raise Refused(Message("unknown user or wrong password"), rule="sign-in") from None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one; every other session ends."""
    try:
        _hasher.verify(user.password_hash, current)
    except VerificationError:
        raise Refused(
            Message("the current password is wrong"),
            rule="password change",
            field="current_password",
        ) from None
    validated(
        UserIn, {"username": user.username, "display_name": user.display_name, "password": new}
    )
    user.password_hash = _hasher.hash(new)
    user.session_epoch += 1
    record(
        session,
        programme_id=None,
        user_id=user.id,
        action="change password",
        row=user,
        after={"session_epoch": user.session_epoch},
    )


def create_programme(session: Session, data: ProgrammeIn | dict[str, Any], admin: User) -> Actor:
    """A new programme with ``admin`` as its first administrator; returns that admin's Actor."""
    programme_in = validated(ProgrammeIn, data)
    existing = session.scalar(select(Programme.id).where(Programme.code == programme_in.code))
    if existing is not None:
        raise Refused(
            Message("programme code '%(code)s' is taken", code=programme_in.code),
            rule="unique code",
        )
    programme = Programme(**programme_in.model_dump(), created_at=now())
    session.add(programme)
    session.flush()
    session.add(
        RoleAssignment(
            programme_id=programme.id,
            user_id=admin.id,
            role=Role.ADMINISTRATOR,
            scope=ScopeKind.PROGRAMME,
        )
    )
    record(session, programme_id=programme.id, user_id=admin.id, action="create", row=programme)
    return act_as(session, admin.id, programme.id)


def user_by_username(session: Session, username: str) -> User:
    """The user called ``username``, or Refused."""
    user = session.scalar(select(User).where(_same_username(username)))
    if user is None:
        raise Refused(Message("no user '%(username)s'", username=username), rule="users")
    return user


def programme_by_code(session: Session, code: str) -> Programme:
    """The programme with ``code``, or Refused."""
    programme = session.scalar(select(Programme).where(Programme.code == code))
    if programme is None:
        raise Refused(Message("no programme '%(code)s'", code=code), rule="programmes")
    return programme


def programmes_with_roles(session: Session) -> list[tuple[Programme, list[tuple[str, str]]]]:
    """Every programme (by code) with its users' (username, role), by username: one query."""
    rows = session.execute(
        select(Programme, User.username, RoleAssignment.role)
        .outerjoin(RoleAssignment, RoleAssignment.programme_id == Programme.id)
        .outerjoin(User, User.id == RoleAssignment.user_id)
        .order_by(Programme.code, User.username)
    )
    grouped: dict[int, tuple[Programme, list[tuple[str, str]]]] = {}
    for programme, username, role in rows:
        _, roles = grouped.setdefault(programme.id, (programme, []))
        if username is not None:
            roles.append((username, role))
    return list(grouped.values())


def programmes_of(session: Session, user_id: int) -> list[tuple[Programme, RoleAssignment]]:
    """The programmes a user holds a role in, by code, with the role held."""
    return [
        (programme, assignment)
        for programme, assignment in session.execute(
            select(Programme, RoleAssignment)
            .join(RoleAssignment, RoleAssignment.programme_id == Programme.id)
            .where(RoleAssignment.user_id == user_id)
            .order_by(Programme.code)
        )
    ]


def grant_role(actor: Actor, user_id: int, data: RoleIn | dict[str, Any]) -> RoleAssignment:
    """Give (or change) a user's role and scope in the actor's programme."""
    actor.require(Permission.USERS_ADMIN)
    role_in = validated(RoleIn, data)
    if role_in.role in SERVICE_ROLES:
        raise Refused(
            Message("%(role)s is a service's role, not given to people", role=role_in.role.value),
            rule="service roles",
            field="role",
        )
    get_user(actor, user_id, any_programme=True)
    scope = role_in.scope or ROLE_SCOPES[role_in.role][0]
    if scope not in ROLE_SCOPES[role_in.role]:
        allowed = ", ".join(ROLE_SCOPES[role_in.role])
        raise Refused(
            Message(
                "a %(role)s is scoped to %(allowed)s, not %(scope)s",
                role=role_in.role.value,
                allowed=allowed,
                scope=scope.value,
            ),
            rule="role scopes",
            field="scope",
        )
    organization_id = subproject_id = None
    place_ids: list[int] = []
    if scope is ScopeKind.PLACES:
        if not role_in.place_ids:
            raise Refused(
                Message("name the places the role reaches"), rule="role scopes", field="place_ids"
            )
        place_ids = [get(actor, Place, place_id).id for place_id in role_in.place_ids]
    elif scope in SCOPE_ORGANIZATION_KIND:
        if role_in.organization_id is None:
            raise Refused(
                Message("a %(scope)s scope names its organization", scope=scope.value),
                rule="role scopes",
                field="organization_id",
            )
        organization = get(actor, Organization, role_in.organization_id)
        if organization.kind != SCOPE_ORGANIZATION_KIND[scope]:
            raise Refused(
                Message(
                    "%(organization)s is not a %(kind)s",
                    organization=organization.name,
                    kind=SCOPE_ORGANIZATION_KIND[scope],
                ),
                rule="role scopes",
                field="organization_id",
            )
        organization_id = organization.id
    elif scope is ScopeKind.ALLIANCE:
        if role_in.subproject_id is None:
            raise Refused(
                Message("an alliance scope names its subproject"),
                rule="role scopes",
                field="subproject_id",
            )
        subproject_id = get(actor, Subproject, role_in.subproject_id).id
    existing = actor.session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user_id, RoleAssignment.programme_id == actor.programme_id
        )
    )
    before = snapshot(existing) if existing is not None else None
    assignment = existing or RoleAssignment(programme_id=actor.programme_id, user_id=user_id)
    assignment.role, assignment.scope = role_in.role, scope
    assignment.organization_id, assignment.subproject_id = organization_id, subproject_id
    actor.session.add(assignment)
    actor.session.flush()
    actor.session.execute(delete(RolePlace).where(RolePlace.role_id == assignment.id))
    actor.session.add_all(RolePlace(role_id=assignment.id, place_id=p) for p in place_ids)
    after = snapshot(assignment) | {"place_ids": place_ids}
    record_for(actor, "update" if before else "create", assignment, before=before, after=after)
    return assignment


def revoke_role(actor: Actor, user_id: int) -> None:
    """Take away a user's role in the actor's programme (not one's own)."""
    actor.require(Permission.USERS_ADMIN)
    if user_id == actor.user_id:
        raise Refused(Message("you cannot revoke your own role"), rule="keep an administrator")
    assignment = actor.session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user_id, RoleAssignment.programme_id == actor.programme_id
        )
    )
    if assignment is None:
        raise NotFound(Message("no user %(id)s", id=user_id))
    record_for(actor, "revoke", assignment, before=snapshot(assignment), after={})
    actor.session.delete(assignment)
    actor.session.flush()


def get_user(actor: Actor, user_id: int, any_programme: bool = False) -> User:
    """A user of the actor's programme (any user at all for ``any_programme``)."""
    user = actor.session.get(User, user_id)
    if user is None or not (
        any_programme
        or actor.session.scalar(scoped(actor, select(User.id).where(User.id == user_id)))
    ):
        raise NotFound(Message("no user %(id)s", id=user_id))
    return user


def users(actor: Actor) -> list[tuple[User, RoleAssignment]]:
    """The programme's users with their role assignments, by username."""
    actor.require(Permission.USERS_ADMIN)
    statement: Any = select(User, RoleAssignment).join(
        RoleAssignment, RoleAssignment.user_id == User.id
    )
    return list(actor.session.execute(scoped(actor, statement).order_by(User.username)))


def set_disabled(actor: Actor, user_id: int, disabled: bool) -> User:
    """Disable a user (every session and token stops working at once) or enable them again."""
    actor.require(Permission.USERS_ADMIN)
    if user_id == actor.user_id and disabled:
        raise Refused(Message("you cannot disable yourself"), rule="keep an administrator")
    user = get_user(actor, user_id)
    elsewhere = actor.session.scalar(
        select(func.count())
        .select_from(RoleAssignment)
        .where(RoleAssignment.user_id == user_id, RoleAssignment.programme_id != actor.programme_id)
    )
    if elsewhere:  # a user is disabled everywhere: one programme cannot decide for the others
        if elsewhere == 1:
            reason = Message(
                "%(username)s also holds a role in 1 other programme: revoke their role in "
                "this programme instead",
                username=user.username,
            )
        else:
            reason = Message(
                "%(username)s also holds a role in %(count)s other programmes: revoke their "
                "role in this programme instead",
                username=user.username,
                count=elsewhere,
            )
        raise Refused(reason, rule="one programme's users")
    before = {"disabled_at": jsonable(user.disabled_at)}
    user.disabled_at = now() if disabled else None
    user.session_epoch += 1
    record_for(
        actor,
        "disable" if disabled else "enable",
        user,
        before=before,
        after={"disabled_at": jsonable(user.disabled_at)},
    )
    return user


def add_user(actor: Actor, user: UserIn | dict[str, Any], role: RoleIn | dict[str, Any]) -> User:
    """A new user of the actor's programme, with their role and its scope (all or nothing)."""
    actor.require(Permission.USERS_ADMIN)
    role_in = validated(RoleIn, role)  # a bad role is refused before the user is made
    with actor.session.begin_nested():
        created = create_user(actor.session, user)
        grant_role(actor, created.id, role_in)
    return created


def role_place_ids(actor: Actor) -> dict[int, list[int]]:
    """The places each places-scoped role assignment of the programme names (role id -> ids)."""
    actor.require(Permission.USERS_ADMIN)
    found: dict[int, list[int]] = {}
    statement: Any = select(RolePlace.role_id, RolePlace.place_id)
    for role_id, place_id in actor.session.execute(
        scoped(actor, statement).order_by(RolePlace.place_id)
    ):
        found.setdefault(role_id, []).append(place_id)
    return found


def all_users(session: Session) -> list[tuple[User, list[tuple[str, str, str]]]]:
    """Every user (by username) with the (programme code, role, scope) they hold: for the
    operator's command line, which acts on the database directly."""
    rows = session.execute(
        select(User, Programme.code, RoleAssignment.role, RoleAssignment.scope)
        .outerjoin(RoleAssignment, RoleAssignment.user_id == User.id)
        .outerjoin(Programme, Programme.id == RoleAssignment.programme_id)
        .order_by(User.username, Programme.code)
    )
    grouped: dict[int, tuple[User, list[tuple[str, str, str]]]] = {}
    for user, code, role, scope in rows:
        _, roles = grouped.setdefault(user.id, (user, []))
        if code is not None:
            roles.append((code, role, scope))
    return list(grouped.values())


def set_exchange_rate(actor: Actor, data: ExchangeRateIn | dict[str, Any]) -> ExchangeRate:
    """Record the rate of a currency against the reporting currency on a date (new rows only)."""
    actor.require(Permission.RATES_SET)
    rate_in = validated(ExchangeRateIn, data)
    if rate_in.currency == actor.programme().reporting_currency:
        raise Refused(Message("the reporting currency has rate 1 by definition"))
    clash = actor.session.scalar(
        scoped(actor, select(ExchangeRate.id)).where(
            ExchangeRate.currency == rate_in.currency,
            ExchangeRate.rate_date == rate_in.rate_date,
        )
    )
    if clash is not None:
        raise Refused(
            Message(
                "a %(currency)s rate for %(day)s exists already",
                currency=rate_in.currency,
                day=rate_in.rate_date,
            ),
            rule="one rate per currency and date",
        )
    rate = ExchangeRate(programme_id=actor.programme_id, **rate_in.model_dump())
    actor.session.add(rate)
    record_for(actor, "create", rate)
    actor.memo().clear()  # the rates read so far may not be the latest any more
    return rate


def rate_on(actor: Actor, currency: str, on: date) -> Decimal:
    """Units of ``currency`` per reporting unit, from the latest rate dated on or before ``on``."""
    currency = currency_code(currency)
    if currency == actor.programme().reporting_currency:
        return Decimal(1)
    memo = actor.memo()
    key = ("rate", currency, on)
    if key not in memo:
        memo[key] = _rate_on(actor, currency, on)
    return memo[key]


def _rate_on(actor: Actor, currency: str, on: date) -> Decimal:
    rate = actor.session.scalar(
        scoped(actor, select(ExchangeRate.units_per_reporting_unit))
        .where(
            ExchangeRate.currency == currency,
            ExchangeRate.rate_date <= on,
        )
        .order_by(ExchangeRate.rate_date.desc())
        .limit(1)
    )
    if rate is None:
        raise Refused(
            Message(
                "no %(currency)s exchange rate on or before %(day)s", currency=currency, day=on
            ),
            rule="dated rates",
        )
    return Decimal(rate)


def to_reporting_currency(actor: Actor, amount: Decimal, currency: str, on: date) -> Decimal:
    """``amount`` of ``currency`` in the reporting currency on ``on``.

    Rounded half-even to cents here: a roll-up is a report, the ledger keeps the exact amounts.
    """
    converted = Decimal(amount) / rate_on(actor, currency, on)
    return converted.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
