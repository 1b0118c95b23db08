"""Programmes, users, their role assignments per programme (each with a scope), sign-in
sessions, API tokens, and dated exchange rates."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from alianza.platform.db import Base
from alianza.platform.types import Rate


class Programme(Base):
    """One programme (a PA project, an MI programme); every other record belongs to one."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    reporting_currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class User(Base):
    """A person who signs in; what they may do is decided per programme by
    :class:`RoleAssignment`. Usernames are unique regardless of case."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The language the user picked for pages and messages (en, es, fr, pt); None: the browser's.
    locale: Mapped[str | None] = mapped_column(String(5))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Raised on a password change or when disabled: every session of an older epoch ends.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# usernames are unique regardless of case
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class RoleAssignment(Base):
    """A user's role in one programme and the scope it reaches (see alianza.platform.access).

    ``scope`` is programme, places (see :class:`RolePlace`), organization, buyer, lender
    (``organization_id``), alliance (``subproject_id``) or assigned (the subprojects assigned
    to the user as an evaluator)."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("programme_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    scope: Mapped[str] = mapped_column(String(20), default="programme", server_default="programme")
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    subproject_id: Mapped[int | None] = mapped_column(ForeignKey("subprojects.id"))


class RolePlace(Base):
    """A place (country, district, ...) a places-scoped role reaches, with all it contains."""

    __tablename__ = "role_places"

    role_id: Mapped[int] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"), primary_key=True)


class UserSession(Base):
    """A signed-in browser: the cookie holds a random token, the database only its SHA-256."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    epoch: Mapped[int] = mapped_column(Integer)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A bearer token for the API, created and revoked by its user; stored as its SHA-256."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInAttempt(Base):
    """A failed sign-in, by the (lower-case) username tried and the client's address: the rate
    limit counts these over a window."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_username_at", "username", "at"),
        Index("ix_sign_in_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ExchangeRate(Base):
    """Units of ``currency`` that buy one unit of the programme's reporting currency on a date."""

    __tablename__ = "exchange_rates"
    __table_args__ = (UniqueConstraint("programme_id", "currency", "rate_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    rate_date: Mapped[date] = mapped_column(Date)
    units_per_reporting_unit = mapped_column(Rate(), nullable=False)
