"""reconciliation: each payment's place in the reconciler's schedule, and where its outcome came from

Revision ID: 0004_reconcile
Revises: 0003_refunds
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_reconcile"
down_revision = "0003_refunds"  # chained after main's 0003 when main was merged (was "0001")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settled_by", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("reconcile_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("reconcile_next_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reconcile_claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reconcile_claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reconcile_stopped_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reconcile_note", sa.Text(), nullable=True))
        batch_op.create_index(
            "ix_payment_sessions_reconcile_due", ["state", "reconcile_next_at"], unique=False
        )
    with op.batch_alter_table("paycombat_deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="webhook")
        )


def downgrade() -> None:
    with op.batch_alter_table("paycombat_deliveries", schema=None) as batch_op:
        batch_op.drop_column("source")
    with op.batch_alter_table("payment_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_sessions_reconcile_due")
        for column in (
            "reconcile_note",
            "reconcile_stopped_at",
            "reconcile_claimed_until",
            "reconcile_claimed_by",
            "reconcile_next_at",
            "reconcile_attempts",
            "settled_by",
        ):
            batch_op.drop_column(column)
