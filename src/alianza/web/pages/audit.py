"""The audit log page (``audit``): who did what, when, to which record, with the record before
and after; newest first, paged, filtered by kind of record (and record id), for audit.read."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from alianza.platform.audit import service as audit
from alianza.web.auth import CurrentActor
from alianza.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/audit", response_class=HTMLResponse, name="audit")
def audit_page(
    request: Request, actor: CurrentActor, entity: str = "", entity_id: str = "", offset: int = 0
) -> HTMLResponse:
    offset = max(offset, 0)
    record_id = int(entity_id) if entity_id.strip().isdigit() else None
    page = audit.entries_page(
        actor, entity=entity or None, entity_id=record_id, limit=PAGE_SIZE, offset=offset
    )
    names = audit.authors(actor, {e.user_id for e in page.items if e.user_id is not None})
    entries = [
        (
            e,
            names.get(e.user_id) if e.user_id else None,
            json.dumps(e.before, indent=1, ensure_ascii=False, sort_keys=True)
            if e.before
            else None,
            json.dumps(e.after, indent=1, ensure_ascii=False, sort_keys=True) if e.after else None,
        )
        for e in page.items
    ]
    query = {k: v for k, v in {"entity": entity, "entity_id": record_id or ""}.items() if v}
    return render(
        request,
        "audit/log.html",
        {
            "entries": entries,
            "total": page.total,
            "offset": offset,
            "limit": PAGE_SIZE,
            "entities": audit.entities(actor),
            "entity": entity,
            "entity_id": record_id,
            "query": query,
        },
    )
