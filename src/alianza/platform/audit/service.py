"""Recording and reading the audit log. Services call :func:`record` for every change."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, select

from alianza.platform.audit.models import AuditEntry

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from alianza.platform.access import Actor, Page


def now() -> datetime:
    """The current time in UTC (every timestamp the platform writes)."""
    return datetime.now(UTC)


def jsonable(value: Any) -> Any:
    """``value`` as JSON: Decimal and dates as strings, so no amount passes through a float."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def snapshot(row: Any) -> dict[str, Any]:
    """The column values of an ORM row, as JSON."""
    mapper = inspect(row).mapper
    return {column.key: jsonable(getattr(row, column.key)) for column in mapper.column_attrs}


def record(
    session: Session,
    *,
    programme_id: int | None,
    user_id: int | None,
    action: str,
    row: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry about ``row`` (flushed): entity, id and by default ``after`` come from it."""
    session.flush()
    entry = AuditEntry(
        programme_id=programme_id,
        user_id=user_id,
        at=now(),
        action=action,
        entity=type(row).__tablename__,
        entity_id=row.id,
        before=before,
        after=after if after is not None else snapshot(row),
    )
    session.add(entry)
    return entry


def audit_row(
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One audit entry as a row for :func:`write_audit_rows` (a batch written by a service in
    one statement, rather than an ORM object per change)."""
    return {
        "programme_id": actor.programme_id,
        "user_id": actor.user_id,
        "at": now(),
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "before": before,
        "after": after,
    }


def write_audit_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append the audit entries made by :func:`audit_row`, in one statement."""
    from alianza.platform.db import bulk_insert

    bulk_insert(session, AuditEntry.__table__, rows)  # type: ignore[arg-type]


def record_for(actor: Actor, action: str, row: Any, **fields: Any) -> AuditEntry:
    """:func:`record` on behalf of an acting user in their programme."""
    return record(
        actor.session,
        programme_id=actor.programme_id,
        user_id=actor.user_id,
        action=action,
        row=row,
        **fields,
    )


def entries(actor: Actor, *, entity: str | None = None, limit: int = 1000) -> list[AuditEntry]:
    """The programme's audit entries, newest last."""
    from alianza.platform.access import Permission, scoped

    actor.require(Permission.AUDIT_READ)
    query = scoped(actor, select(AuditEntry))
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    query = query.order_by(AuditEntry.id).limit(limit)
    return list(actor.session.scalars(query))


def entries_page(
    actor: Actor,
    *,
    entity: str | None = None,
    entity_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """A page of the programme's audit entries, newest first (of one entity, or one record)."""
    from alianza.platform.access import Permission, paged

    actor.require(Permission.AUDIT_READ)
    query = select(AuditEntry)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return paged(actor, query.order_by(AuditEntry.id.desc()), limit, offset)


def entities(actor: Actor) -> list[str]:
    """The kinds of record the programme's audit log names (for a filter), sorted."""
    from alianza.platform.access import Permission, scoped

    actor.require(Permission.AUDIT_READ)
    query = scoped(actor, select(AuditEntry.entity).distinct())
    return sorted(actor.session.scalars(query))


def authors(actor: Actor, user_ids: set[int]) -> dict[int, str]:
    """The display names of the users who made some of the programme's audit entries (read
    by id: a user whose role was revoked still wrote what they wrote)."""
    from alianza.platform.access import Permission
    from alianza.platform.programmes.models import User

    actor.require(Permission.AUDIT_READ)
    if not user_ids:
        return {}
    written = select(AuditEntry.user_id).where(AuditEntry.programme_id == actor.programme_id)
    rows = actor.session.execute(
        select(User.id, User.display_name).where(
            User.id.in_(sorted(user_ids)), User.id.in_(written)
        )
    )
    return {user_id: name for user_id, name in rows}
