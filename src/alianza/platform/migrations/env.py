"""Alembic environment: runs on the engine handed over by alianza.platform.db (or the URL)."""

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from alianza.platform import metadata as _all_tables  # noqa: F401 - registers every table
from alianza.platform.db import Base
from alianza.platform.types import FixedDecimal

config = context.config


def compare_type(
    context: object,
    inspected: object,
    metadata: object,
    inspected_type: object,
    metadata_type: object,
) -> bool | None:
    """Exact-decimal columns are declared NUMERIC on purpose (see alianza.platform.types)."""
    if isinstance(metadata_type, FixedDecimal):
        return False
    return None


def render_item(type_: str, obj: Any, autogen_context: Any) -> Any:
    """Render alianza's exact-decimal columns as plain Numeric: migrations stay self-contained."""
    if type_ == "type" and isinstance(obj, FixedDecimal):
        return f"sa.Numeric(precision={obj.precision}, scale={obj.places})"
    return False


target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(
        config.get_main_option("sqlalchemy.url") or ""
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=compare_type,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
