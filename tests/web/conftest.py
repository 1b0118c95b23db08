"""Web tests: the app on a fresh migrated SQLite database, a TestClient on it, and for the
browser tests a live server (uvicorn in a thread) with Chromium driven by Playwright.

Chromium is Debian's (/usr/bin/chromium, or `chromium` on the PATH): where it is missing the
browser tests skip with a message, except under CI (CI set), where they fail."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from alianza.platform.db import make_engine, upgrade
from alianza.settings import Settings
from alianza.web.app import create_app

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, made once; each test gets a copy (as tests/platform do)."""
    template = tmp_path_factory.mktemp("web-db") / "template.db"
    engine = make_engine(f"sqlite:///{template}")
    upgrade(engine)
    engine.dispose()
    return template


def settings_for(data_dir: Path, database: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{database}",
        secret_key="test-secret-key",
        default_locale="en",
    )


@pytest.fixture
def settings(tmp_path: Path, migrated_template: Path) -> Settings:
    database = tmp_path / "alianza.db"
    shutil.copy(migrated_template, database)
    return settings_for(tmp_path, database)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client that sees server errors as responses (as a browser would), lifespan run."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


# --- the browser ---------------------------------------------------------------------------------


def chromium_path() -> str | None:
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Iterator[str]:
    """The app served by uvicorn on a free 127.0.0.1 port, in a thread; yields its base URL."""
    import uvicorn

    folder = tmp_path_factory.mktemp("live")
    database = folder / "alianza.db"
    shutil.copy(migrated_template, database)
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings_for(folder, database)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium under Playwright; skipped where absent (failed under CI)."""
    executable = chromium_path()
    if executable is None:
        message = "Chromium not found (apt-get install chromium): browser tests skipped"
        if os.environ.get("CI"):  # CI installs Chromium (.ci/run): its absence is a failure
            pytest.fail(message.replace("skipped", "cannot run in CI"))
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # pragma: no cover - playwright is a dev dependency
        if os.environ.get("CI"):
            pytest.fail(f"playwright is not installed: {error}")
        pytest.skip(f"playwright is not installed: {error}")
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    except Exception as error:
        playwright.stop()
        if os.environ.get("CI"):
            pytest.fail(f"Chromium at {executable} does not start: {error}")
        pytest.skip(f"Chromium at {executable} does not start: {error}")
    try:
        yield launched
    finally:
        launched.close()
        playwright.stop()
