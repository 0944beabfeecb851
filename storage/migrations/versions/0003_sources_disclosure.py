"""issue source (问题来源) and exemption from public disclosure (不予公开)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=32), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("confidential", sa.Boolean(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_column("confidential")
        batch_op.drop_column("source")
