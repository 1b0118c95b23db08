"""The audit log: ``GET /audit?entity=&entity_id=&limit=&offset=``, newest first, for
audit.read (administrators, programme managers, auditors): who did what, when, to which
record, with the record before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from alianza.platform.audit import service as audit
from alianza.web.auth import CurrentActor

router = APIRouter(tags=["audit"])


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    user_name: str | None
    action: str
    entity: str
    entity_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    total: int


@router.get("/audit", name="api_audit", summary="The audit log")
def entries(
    actor: CurrentActor,
    entity: Annotated[
        str | None,
        Query(
            max_length=60,
            description="Only this kind of record (a table's name: agreements, deliveries...).",
        ),
    ] = None,
    entity_id: Annotated[
        int | None, Query(ge=0, le=2**63 - 1, description="Only this record (with entity).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> AuditPage:
    """The programme's audit entries, newest first."""
    page = audit.entries_page(
        actor, entity=entity or None, entity_id=entity_id, limit=limit, offset=offset
    )
    names = audit.authors(actor, {e.user_id for e in page.items if e.user_id is not None})
    items = [
        AuditEntryOut(
            id=e.id,
            at=e.at,
            user_id=e.user_id,
            user_name=names.get(e.user_id) if e.user_id else None,
            action=e.action,
            entity=e.entity,
            entity_id=e.entity_id,
            before=e.before,
            after=e.after,
        )
        for e in page.items
    ]
    return AuditPage(items=items, total=page.total)
