"""field submissions: the instance IDs of imported ODK/Kobo submissions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

`alianza forms import` is idempotent on a submission's instance ID (``meta/instanceID``): the
field-record tables have no column for it, so one row per imported submission is kept here,
unique per programme, and a re-import skips the submissions it finds.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "field_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(length=200), nullable=False),
        sa.Column("form", sa.String(length=20), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("farmer_id", sa.Integer(), nullable=True),
        sa.Column("imported_by", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["farmer_id"], ["farmers.id"], name=op.f("fk_field_submissions_farmer_id_farmers")
        ),
        sa.ForeignKeyConstraint(
            ["imported_by"], ["users.id"], name=op.f("fk_field_submissions_imported_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_field_submissions_programme_id_programmes"),
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["places.id"], name=op.f("fk_field_submissions_village_id_places")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_submissions")),
        sa.UniqueConstraint(
            "programme_id",
            "instance_id",
            name=op.f("uq_field_submissions_programme_id_instance_id"),
        ),
    )
    with op.batch_alter_table("field_submissions", schema=None) as batch_op:
        for column in ("farmer_id", "programme_id", "village_id"):
            batch_op.create_index(
                batch_op.f(f"ix_field_submissions_{column}"), [column], unique=False
            )


def downgrade() -> None:
    with op.batch_alter_table("field_submissions", schema=None) as batch_op:
        for column in ("farmer_id", "programme_id", "village_id"):
            batch_op.drop_index(batch_op.f(f"ix_field_submissions_{column}"))
    op.drop_table("field_submissions")
