"""Signing in: sessions for browsers, bearer tokens for programs, and the rate limit on
failed attempts. Tokens are random; the database keeps only their SHA-256, so a stolen
database or backup opens no session.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from alianza.platform.audit.service import now, record
from alianza.platform.errors import NotFound, Refused
from alianza.platform.programmes.models import ApiToken, SignInAttempt, User, UserSession
from alianza.platform.programmes.service import authenticate
from alianza.problems import Message

SESSION_LIFETIME = timedelta(hours=12)
# Failed sign-ins allowed per username, and per client address, in the window below.
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
FAILURE_WINDOW = timedelta(minutes=15)
LAST_USED_PRECISION = timedelta(minutes=1)  # how fresh a token's "last used" is kept


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; every timestamp the platform writes is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=now().tzinfo)


def _check_rate(session: Session, username: str, address: str) -> None:
    since = now() - FAILURE_WINDOW
    by_user = session.scalar(
        select(func.count())
        .select_from(SignInAttempt)
        .where(SignInAttempt.username == username.lower(), SignInAttempt.at >= since)
    )
    by_address = session.scalar(
        select(func.count())
        .select_from(SignInAttempt)
        .where(SignInAttempt.address == address, SignInAttempt.at >= since)
    )
    if (by_user or 0) >= MAX_FAILURES_PER_USER or (by_address or 0) >= MAX_FAILURES_PER_ADDRESS:
        raise Refused(
            Message("too many failed sign-ins: wait a few minutes and try again"),
            rule="sign-in rate limit",
        )


def sign_in(session: Session, username: str, password: str, address: str) -> User:
    """The user, if the password is theirs and the rate limit allows; a failure is counted
    (the caller commits it) and refused with one message whatever went wrong."""
    _check_rate(session, username, address)
    try:
        return authenticate(session, username, password)
    except Refused:
        session.add(SignInAttempt(username=username.lower()[:80], address=address[:64], at=now()))
        raise


@dataclass(frozen=True)
class Started:
    """A new browser session: the cookie's token and the session's CSRF token."""

    token: str
    csrf_token: str
    row: UserSession


def start_session(session: Session, user: User, programme_id: int | None) -> Started:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        token_hash=digest(token),
        csrf_token=csrf,
        epoch=user.session_epoch,
        programme_id=programme_id,
        created_at=now(),
        expires_at=now() + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    return Started(token, csrf, row)


def session_of(session: Session, token: str) -> tuple[UserSession, User] | None:
    """The live session of a cookie's token and its (enabled) user, or None."""
    found = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == digest(token))
    ).first()
    if found is None:
        return None
    row, user = found
    if (
        row.ended_at is not None
        or _aware(row.expires_at) <= now()
        or row.epoch != user.session_epoch
        or user.disabled_at is not None
    ):
        return None
    return row, user


def end_session(session: Session, row: UserSession) -> None:
    row.ended_at = now()


def end_all_sessions(session: Session, user_id: int) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=now())
    )


# --- API tokens ----------------------------------------------------------------------------

TOKEN_PREFIX = "alz_"


def create_token(
    session: Session, user: User, name: str, days: int | None = 90
) -> tuple[str, ApiToken]:
    """A new bearer token for ``user``: the secret is returned once and never stored."""
    name = name.strip()
    if not 1 <= len(name) <= 80:
        raise Refused(Message("a token's name has 1 to 80 characters"), field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=digest(secret),
        prefix=secret[:10],
        created_at=now(),
        expires_at=now() + timedelta(days=days) if days else None,
    )
    session.add(row)
    session.flush()
    record(
        session,
        programme_id=None,
        user_id=user.id,
        action="create token",
        row=row,
        after={"name": name, "prefix": row.prefix},
    )
    return secret, row


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens (another user's looks absent)."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(Message("no token %(id)s", id=token_id))
    if row.revoked_at is None:
        row.revoked_at = now()
        record(
            session,
            programme_id=None,
            user_id=user.id,
            action="revoke token",
            row=row,
            after={"revoked_at": row.revoked_at.isoformat()},
        )
    return row


# Built once: every API request runs it, and building it again cost more than running it.
_TOKEN_USER = (
    select(ApiToken, User)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def token_user(session: Session, secret: str) -> User | None:
    """The enabled user of a live bearer token, or None."""
    found = session.execute(_TOKEN_USER, {"token_hash": digest(secret)}).first()
    if found is None:
        return None
    row, user = found
    if (
        row.revoked_at is not None
        or user.disabled_at is not None
        or (row.expires_at is not None and _aware(row.expires_at) <= now())
    ):
        return None
    moment = now()
    # Kept to the minute: a write on every request would turn each read into a transaction
    # that must reach the disk.
    if row.last_used_at is None or moment - _aware(row.last_used_at) >= LAST_USED_PRECISION:
        row.last_used_at = moment
    return user
