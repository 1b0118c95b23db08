"""`alianza serve`: run the web application with uvicorn (host, port and workers from the
settings unless given), after checking that the database is migrated."""

from __future__ import annotations

import functools
from typing import Annotated

import typer

from alianza.platform.errors import DatabaseNotMigrated
from alianza.settings import get_settings

NOT_MIGRATED = 2  # exit code: the database must be upgraded first

APP_FACTORY = "alianza.web.app:create_app"


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (ALIANZA_HOST; 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (ALIANZA_PORT; 8000).", min=1, max=65535)
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (ALIANZA_WORKERS; 1).", min=1)
    ] = None,
    jobs: Annotated[
        bool,
        typer.Option(
            help="Also start a background-jobs worker (`alianza worker`) for "
            "simulations; --no-jobs where workers run elsewhere."
        ),
    ] = True,
) -> None:
    """Serve the pages and the API (docs/operations.md: behind a TLS proxy, set
    ALIANZA_TRUST_PROXY=true)."""
    import uvicorn

    from alianza.platform.db import check_migrated, make_engine

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        check_migrated(engine)
    except DatabaseNotMigrated as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(NOT_MIGRATED) from None
    finally:
        engine.dispose()
    settings.secret()  # made once here, before several workers could race to make it
    run = functools.partial(
        uvicorn.run,
        APP_FACTORY,
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        proxy_headers=settings.trust_proxy,
        forwarded_allow_ips="*" if settings.trust_proxy else None,
        server_header=False,
    )
    if not jobs:
        run()
        return
    from alianza.platform.jobs.worker import background_worker

    # one jobs worker beside the server's processes: simulations never run in the server
    with background_worker(settings.database_url):
        run()
