"""The API reference at /docs: Swagger UI from vendored files (no CDN, no inline script)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from alianza.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def api_reference(request: Request) -> HTMLResponse:
    return render(request, "docs.html", {"openapi_url": request.app.openapi_url})
