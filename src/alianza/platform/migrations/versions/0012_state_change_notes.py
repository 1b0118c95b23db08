"""state change notes: a subproject's state-change note kept as the Message it was written as

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

``state_changes.note`` keeps the English text (or a person's words, as typed); the new nullable
JSON column ``note_parts`` keeps the template and values of the Message the system wrote the note
as (the eligibility rules broken, the plan version, the tranche released), from which the
subproject's page and the API say it in the reader's language. A person's note and older moves
keep a null: their text is shown as it is.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("state_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note_parts", sa.JSON(), nullable=True))


def downgrade() -> None:
    # the English text stays in ``note``; only the other languages are lost
    with op.batch_alter_table("state_changes", schema=None) as batch_op:
        batch_op.drop_column("note_parts")
