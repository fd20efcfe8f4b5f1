"""money truth: a payment held for review (a success that proves no payment), and a refund's order number

Revision ID: 0006_money_truth
Revises: 0005_retention
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_money_truth"
down_revision = "0005_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("held_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_payment_sessions_held_at", ["held_at"], unique=False)
    with op.batch_alter_table("refunds_owed", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_number", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refunds_owed", schema=None) as batch_op:
        batch_op.drop_column("order_number")
    with op.batch_alter_table("payment_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_sessions_held_at")
        batch_op.drop_column("held_at")
        batch_op.drop_column("held_reason")
