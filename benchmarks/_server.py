"""What the HTTP benchmarks share (not a benchmark itself: `make bench` skips files named
``_*.py``): a scratch PostgreSQL database, and the app served by uvicorn in worker processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def scratch_database(admin_url: str, prefix: str) -> tuple[str, Callable[[], None]]:
    """A new database on ``admin_url``'s server: its URL, and the function that drops it."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(
    url: str, port: int, workers: int, folder: Path, environment: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``alianza.web.app`` on ``url``, served on 127.0.0.1:``port``; returns once it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "alianza.web.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning", "--no-access-log"],
        env={
            **os.environ,
            "ALIANZA_DATABASE_URL": url,
            "ALIANZA_DATA_DIR": str(folder),
            "ALIANZA_SECRET_KEY": "benchmark",
            **(environment or {}),
        },
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")
