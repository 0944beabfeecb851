"""the request id an idempotency claim writes under, and the one a round was opened by; the
seal of a client's grant

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grant_mac", sa.String(length=64), nullable=True))
    # a plain ADD COLUMN and an index: rebuilding the table (batch mode) on SQLite would drop a
    # table the issues point to
    op.add_column("rounds", sa.Column("request_id", sa.String(length=128), nullable=True))
    op.create_index("uq_rounds_request_id", "rounds", ["request_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_rounds_request_id", table_name="rounds")
    op.drop_column("rounds", "request_id")  # SQLite 3.35 and later drop a column in place
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.drop_column("grant_mac")
    with op.batch_alter_table("api_requests", schema=None) as batch_op:
        batch_op.drop_column("request_id")
