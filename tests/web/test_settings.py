"""The settings: read from ALIANZA_* once, with the defaults the platform had; the secret key
made once and kept private; `alianza serve` refuses an unmigrated database."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alianza.cli import app as cli
from alianza.settings import Settings, get_settings


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # noqa: ANN201
    for name in ("ALIANZA_DATA_DIR", "ALIANZA_DATABASE_URL", "ALIANZA_SECRET_KEY", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_defaults(clean_environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings()
    assert settings.data_dir == tmp_path / "home" / ".local" / "share" / "alianza"
    assert settings.database_url == f"sqlite:///{settings.data_dir / 'alianza.db'}"
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.dask_scheduler is None
    assert settings.default_locale == "en"
    assert settings.secure_cookies is None and settings.trust_proxy is False


def test_the_environment_sets_them(clean_environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_environment.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert Settings().data_dir == tmp_path / "xdg" / "alianza"
    clean_environment.setenv("ALIANZA_DATA_DIR", str(tmp_path / "data"))
    clean_environment.setenv("ALIANZA_PORT", "9000")
    clean_environment.setenv("ALIANZA_TRUST_PROXY", "true")
    clean_environment.setenv("ALIANZA_DEFAULT_LOCALE", "pt_BR")
    settings = Settings()
    assert settings.data_dir == tmp_path / "data"
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'alianza.db'}"
    assert settings.port == 9000 and settings.trust_proxy and settings.default_locale == "pt"


def test_the_secret_key_is_made_once_and_kept_private(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    key = settings.secret()
    path = tmp_path / "data" / "secret_key"
    assert len(key) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(data_dir=tmp_path / "data").secret() == key
    assert Settings(data_dir=tmp_path / "data", secret_key="given").secret() == "given"
    assert "secret" not in repr(Settings(secret_key="given-key")).replace("secret_key", "")


def test_serve_refuses_an_unmigrated_database(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_environment.setenv("ALIANZA_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["serve", "--port", "8765"])
    assert result.exit_code == 2
    assert "alianza db upgrade" in result.output
