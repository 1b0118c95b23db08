"""What the HTTP benchmarks share (not a benchmark itself: `make bench` skips files named
``_*.py``): a scratch PostgreSQL database, and the app served by uvicorn in worker processes."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


class KeepAlive:
    """One HTTP/1.1 keep-alive connection, for load generators: requests written as bytes and
    answers read by their Content-Length (or chunks), so that the driver takes as little as it
    can of the cores it shares with the server (an httpx client spends about 0.6 ms of CPU a
    request, a fifth of what a simple endpoint costs the server)."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.fixed = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, json_body: Any = None) -> int:
        """Send one request and read its whole answer; the answer's status."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        body = b"" if json_body is None else json.dumps(json_body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.fixed}"
        if json_body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode("latin-1") + b"\r\n" + body)
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        }
        if fields.get("transfer-encoding", "").lower() == "chunked":
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        else:
            await self.reader.readexactly(int(fields.get("content-length", 0)))
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None
