"""alianza's settings: one object, read from the environment (``ALIANZA_*``) and nowhere else.

Every part of alianza that needs a setting asks :func:`get_settings` (the web app takes a
:class:`Settings` in its factory, so that tests can give their own); nothing else reads
``os.environ``. ``docs/operations.md`` lists every setting.
"""

from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCALES = ("en", "es", "fr", "pt")
SECRET_KEY_FILE = "secret_key"


class PaymentProvider(BaseModel):
    """A mobile-money provider (or aggregator) that notifies payments to the intake.

    ``secret`` signs its generic JSON notifications (HMAC-SHA256); ``url_token`` is the secret
    part of its Daraja confirmation URL (Daraja does not sign). ``programme`` is the code of
    the programme its payments belong to; ``country`` reads phones written without ``+``;
    ``timezone`` reads Daraja's ``TransTime``."""

    programme: str
    currency: str = Field(min_length=3, max_length=3)
    country: str | None = Field(None, description="phonenumbers region, e.g. MW, TZ, KE")
    secret: str | None = Field(None, repr=False, min_length=16)
    url_token: str | None = Field(None, repr=False, min_length=16)
    timestamp_window_seconds: int = Field(300, ge=1, le=3600)
    timezone: str = "Africa/Nairobi"


class Settings(BaseSettings):
    """What an operator may set; each field is read from ``ALIANZA_<FIELD>`` (any case)."""

    model_config = SettingsConfigDict(env_prefix="ALIANZA_", extra="ignore")

    data_dir: Path | None = Field(
        None,
        description="Directory of alianza's files (default SQLite database, secret key): "
        "ALIANZA_DATA_DIR, else $XDG_DATA_HOME/alianza, else ~/.local/share/alianza.",
    )
    # Read only to place data_dir by the XDG convention; not an alianza setting of its own.
    xdg_data_home: Path | None = Field(
        None, validation_alias="XDG_DATA_HOME", exclude=True, repr=False
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL (postgresql+psycopg://... for PostgreSQL); "
        "default: the SQLite file alianza.db in data_dir.",
    )
    secret_key: str | None = Field(
        None,
        repr=False,
        description="Key that signs session cookies and CSRF tokens; unset, one is generated "
        "once and kept in data_dir/secret_key (mode 0600). Use secret() to read it.",
    )
    host: str = Field("127.0.0.1", description="Address `alianza serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `alianza serve` listens on.")
    workers: int = Field(1, ge=1, description="Worker processes of `alianza serve`.")
    dashboard_seconds: float = Field(
        30,
        ge=0,
        description="How long the dashboard's figures are kept for each scope before they are "
        "read again (0: read on every request).",
    )
    threads: int = Field(
        16,
        ge=1,
        le=200,
        description="Requests a worker process serves at once (its threads and database "
        "connections); more only add waiting for Python's lock.",
    )
    dask_scheduler: str | None = Field(
        None, description="Dask scheduler address (tcp://host:8786); None: a local cluster."
    )
    default_locale: Literal["en", "es", "fr", "pt"] = Field(
        "en",
        description="Language of a visitor who chose none and whose browser asks for none we have.",
    )
    secure_cookies: bool | None = Field(
        None,
        description="Mark cookies Secure; None: when the request came over https "
        "(or X-Forwarded-Proto is https and trust_proxy is set).",
    )
    trust_proxy: bool = Field(
        False, description="Believe X-Forwarded-Proto/-For from a TLS proxy in front."
    )
    test_database_url: str | None = Field(
        None, description="Tests only: a PostgreSQL server where tests may create databases."
    )
    ladder_kernel: Literal["compiled", "numpy"] = Field(
        "compiled",
        description="Kit-ladder season kernel: compiled (numba, when installed) or numpy.",
    )

    payment_providers: dict[str, PaymentProvider] = Field(
        default_factory=dict,
        description="Mobile-money providers by name, as JSON: "
        '{"airtel": {"programme": "MI-MW", "currency": "MWK", "country": "MW", '
        '"secret": "...", "url_token": "..."}} (see docs/micro-investing.md).',
    )

    @field_validator("default_locale", mode="before")
    @classmethod
    def _language_only(cls, value: object) -> object:
        # "pt_BR" or "es-419" in the environment still pick the language we have.
        return value.replace("-", "_").split("_")[0].lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if self.data_dir is None:
            base = self.xdg_data_home or Path.home() / ".local" / "share"
            self.data_dir = base / "alianza"
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'alianza.db'}"
        return self

    @property
    def directory(self) -> Path:
        """:attr:`data_dir`, always set once the settings are read."""
        assert self.data_dir is not None
        return self.data_dir

    def secret(self) -> str:
        """The secret key: ``ALIANZA_SECRET_KEY``, else the one kept in ``data_dir/secret_key``,
        generated the first time (mode 0600, so only its owner reads it). Asked for lazily:
        a command that signs nothing never writes the file."""
        if self.secret_key:
            return self.secret_key
        path = self.directory / SECRET_KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".{SECRET_KEY_FILE}.{os.getpid()}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
            try:
                # A link is atomic and refuses an existing name: two workers starting together
                # keep one key, whichever wins, and nobody reads a half-written file.
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        return path.read_text(encoding="ascii").strip()


@cache
def get_settings() -> Settings:
    """The settings of this process, read once (``get_settings.cache_clear()`` re-reads)."""
    return Settings()
