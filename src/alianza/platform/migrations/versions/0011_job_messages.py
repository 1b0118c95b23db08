"""job messages: a job's message kept as the Message it was written as, to be said in any language

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

``jobs.message`` keeps the English text (readable in SQL and by the CLI); the new nullable JSON
column ``message_parts`` keeps its template and values (``{"template": ..., "values": {...}}``),
from which a page says it in the reader's language. Older jobs keep a null: their text is shown
as it is.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_parts", sa.JSON(), nullable=True))


def downgrade() -> None:
    # the English text stays in ``message``; only the other languages are lost
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("message_parts")
