"""payment intake: a mobile-money payment may be "received", stored and not yet posted

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

The HTTP intake stores a notification (one statement, unique (provider, transaction_id)) and
answers; a posting step matches or parks the received payments in batches. Until then the
payment's status is ``received`` (it has no posting yet), which the status check now allows.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "status IN ('matched', 'parked', 'resolved')"
AFTER = "status IN ('received', 'matched', 'parked', 'resolved')"


def _status_check(condition: str) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table with the new check.
    with op.batch_alter_table("mobile_payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_mobile_payments_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_mobile_payments_status"), condition)


def upgrade() -> None:
    _status_check(AFTER)


def downgrade() -> None:
    # a payment still waiting for its posting cannot be kept under the old rule: post them
    # first (`alianza payments post`)
    _status_check(BEFORE)
