"""The web application: ``create_app(settings)`` builds it (``alianza serve`` runs it).

One :class:`alianza.platform.db.Database` per app (``app.state``), opened at start-up and
checked to be migrated (an unmigrated database stops the start with the platform's message);
security headers and the request's locale as middleware; errors in one shape (errors.py);
JSON routers under /api/v1, pages elsewhere, vendored static files under /static.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from alianza import __version__
from alianza.platform.db import Database
from alianza.settings import Settings, get_settings
from alianza.web import errors
from alianza.web.api import agreements as agreements_api
from alianza.web.api import audit as audit_api
from alianza.web.api import auth as auth_api
from alianza.web.api import cycle as cycle_api
from alianza.web.api import dashboard as dashboard_api
from alianza.web.api import graduation as graduation_api
from alianza.web.api import ledger as ledger_api
from alianza.web.api import microinvesting as microinvesting_api
from alianza.web.api import payments as payments_api
from alianza.web.api import performance as performance_api
from alianza.web.api import plans as plans_api
from alianza.web.api import registry as registry_api
from alianza.web.api import results as results_api
from alianza.web.api import simulations as simulations_api
from alianza.web.api import users as users_api
from alianza.web.api.dashboard import FiguresCache
from alianza.web.docs import router as docs_router
from alianza.web.i18n import LocaleMiddleware
from alianza.web.pages import account as account_pages
from alianza.web.pages import agreements as agreements_pages
from alianza.web.pages import audit as audit_pages
from alianza.web.pages import cycle as cycle_pages
from alianza.web.pages import dashboard as dashboard_pages
from alianza.web.pages import graduation as graduation_pages
from alianza.web.pages import home as home_pages
from alianza.web.pages import ledger as ledger_pages
from alianza.web.pages import microinvesting as microinvesting_pages
from alianza.web.pages import performance as performance_pages
from alianza.web.pages import plans as plans_pages
from alianza.web.pages import registry as registry_pages
from alianza.web.pages import results as results_pages
from alianza.web.pages import simulations as simulations_pages
from alianza.web.pages import users as users_pages
from alianza.web.security import SecurityHeadersMiddleware
from alianza.web.slots import RequestSlots

STATIC = Path(__file__).parent / "static"
API_V1 = "/api/v1"
YOUNG_GENERATION_THRESHOLD = 20_000


class DatabaseHolder:
    """Opens the app's database once, on first need (start-up, or a test's first request)."""

    def __init__(self, url: str, connections: int) -> None:
        self.url = url
        self.connections = connections
        self.database: Database | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Database:
        with self._lock:
            if self.database is None:
                # One connection per request thread, and a few for the event loop's own calls.
                self.database = Database(  # raises DatabaseNotMigrated
                    self.url, pool_size=self.connections + 4, max_overflow=4
                )
            return self.database

    def close(self) -> None:
        with self._lock:
            if self.database is not None:
                self.database.dispose()
                self.database = None


def create_app(settings: Settings | None = None) -> FastAPI:
    """The alianza web app for ``settings`` (default: :func:`alianza.settings.get_settings`)."""
    settings = settings or get_settings()
    holder = DatabaseHolder(settings.database_url, settings.threads)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        holder()  # refuse to start on an unmigrated database
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        # What start-up loaded (code, mappers, routes, templates) lives as long as the process:
        # kept out of the collector's full passes, which otherwise walk it on every request burst.
        gc.collect()
        gc.freeze()
        # A request allocates tens of thousands of short-lived objects (rows, models, SQL):
        # collecting the youngest generation every 700 allocations spent a seventh of a
        # worker's time in the collector under load.
        gc.set_threshold(YOUNG_GENERATION_THRESHOLD, 20, 20)
        poster = payments_api.payment_poster(_app, settings)
        poster.start()  # posts the payments the intake stores (and any left from before)
        try:
            yield
        finally:
            await poster.stop()
            holder.close()

    app = FastAPI(
        title="alianza",
        version=__version__,
        description="Productive alliances and micro investing: appraisal, registry, alliance cycle.",
        openapi_url=f"{API_V1}/openapi.json",
        docs_url=None,  # /docs is served from vendored files (docs.py): no CDN, strict CSP
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.open_database = holder
    app.state.dashboard_cache = FiguresCache(settings.dashboard_seconds)
    # Outermost last: the headers wrap everything, including the locale's errors.
    app.add_middleware(LocaleMiddleware, default_locale=settings.default_locale)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestSlots, slots=settings.threads)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(docs_router)
    for api in (
        auth_api,
        plans_api,
        dashboard_api,
        results_api,
        cycle_api,
        agreements_api,
        registry_api,
        ledger_api,
        audit_api,
        users_api,
        simulations_api,
        payments_api,
        microinvesting_api,
        graduation_api,
        performance_api,
    ):
        app.include_router(api.router, prefix=API_V1)
    for pages in (
        account_pages,
        home_pages,
        plans_pages,
        dashboard_pages,
        results_pages,
        cycle_pages,
        agreements_pages,
        registry_pages,
        ledger_pages,
        audit_pages,
        users_pages,
        simulations_pages,
        microinvesting_pages,
        graduation_pages,
        performance_pages,
    ):
        app.include_router(pages.router)
    app.openapi = _with_plan_schema(app)  # type: ignore[method-assign]
    return app


def _with_plan_schema(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The app's OpenAPI document, with the plan format's schema added once."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = plans_api.add_plan_schema(build())
        return app.openapi_schema

    return openapi
