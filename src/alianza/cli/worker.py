"""`alianza worker`: the process that runs background jobs (simulations) queued in the database."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from alianza.cli._session import fail


def default_local_workers() -> int:
    """Dask worker processes of the local cluster: one core is left to the web server."""
    return max(1, (os.cpu_count() or 2) - 1)


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Run at most one queued job, then exit.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Dask worker processes of the local cluster (0: simulate in this "
            "process); default: the cores but one. Unused with a scheduler."
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address, e.g. tcp://host:8786 "
            "(default: ALIANZA_DASK_SCHEDULER, else a local cluster)."
        ),
    ] = None,
    poll: Annotated[float, typer.Option(help="Seconds between looks for queued jobs.")] = 2.0,
    url: Annotated[
        str | None,
        typer.Option(
            "--url", help="Database URL (default: ALIANZA_DATABASE_URL or the SQLite file)."
        ),
    ] = None,
    parent_pid: Annotated[
        int | None,
        typer.Option(
            "--parent-pid", hidden=True, help="Exit when this process (the web server) is gone."
        ),
    ] = None,
) -> None:
    """Run queued background jobs (simulations) until stopped (SIGTERM or Ctrl-C)."""
    from dataclasses import replace

    from alianza.platform.db import Database
    from alianza.platform.errors import DatabaseNotMigrated
    from alianza.platform.jobs.config import jobs_config
    from alianza.platform.jobs.worker import run_worker

    # The worker's own lines; Dask's only when something is wrong.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alianza").setLevel(logging.INFO)
    try:
        database = Database(url)
    except DatabaseNotMigrated as error:
        raise fail(error) from None
    config = jobs_config()
    if scheduler:
        config = replace(config, dask_scheduler=scheduler)
    try:
        run_worker(
            database,
            once=once,
            poll_interval=poll,
            config=config,
            local_workers=default_local_workers() if workers is None else workers,
            parent_pid=parent_pid,
        )
    finally:
        database.dispose()
