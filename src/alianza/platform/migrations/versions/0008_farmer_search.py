"""farmer search: lists by name from an index, and name/phone/ID searches by trigrams

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

The registry lists farmers by name and finds them by any part of their name, phone or national
ID (``LIKE '%text%'``). At 100,000 farmers both read the whole table without an index: the
(programme, name, id) index serves a page of the list; on PostgreSQL, trigram indexes (the
``pg_trgm`` extension, trusted since PostgreSQL 13) serve the searches. Where the extension
cannot be created, the searches still work, without their index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Expressions as the registry's search writes them (lower() on name and national ID).
TRIGRAM_INDEXES = {
    "ix_farmers_name_trigrams": "lower(name)",
    "ix_farmers_phone_trigrams": "phone",
    "ix_farmers_national_id_trigrams": "lower(national_id)",
}


def upgrade() -> None:
    op.create_index("ix_farmers_programme_name", "farmers", ["programme_id", "name", "id"])
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    try:
        with connection.begin_nested():
            connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:  # not allowed here: the searches run without their index
        return
    for name, expression in TRIGRAM_INDEXES.items():
        connection.execute(
            sa.text(f"CREATE INDEX {name} ON farmers USING gin ({expression} gin_trgm_ops)")
        )


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        for name in TRIGRAM_INDEXES:
            connection.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))
    op.drop_index("ix_farmers_programme_name", table_name="farmers")
