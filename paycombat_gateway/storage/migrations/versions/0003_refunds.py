"""refunds owed to shoppers, carried out by the merchant in PayCombat's dashboard

Revision ID: 0003_refunds
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_refunds"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refunds_owed",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("installation_id", sa.Integer(), nullable=False),
        sa.Column("payment_session_id", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=255), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("payin_id", sa.String(length=128), nullable=True),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=512), nullable=True),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_refund_id", sa.String(length=512), nullable=True),
        sa.Column("paycombat_reference", sa.String(length=255), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["installation_id"], ["installations.id"],
            name=op.f("fk_refunds_owed_installation_id_installations"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payment_session_id"], ["payment_sessions.id"],
            name=op.f("fk_refunds_owed_payment_session_id_payment_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds_owed")),
        sa.UniqueConstraint("installation_id", "request_key", name=op.f("uq_refunds_owed_installation_id")),
    )  # fmt: skip
    op.create_index(op.f("ix_refunds_owed_payment_session_id"), "refunds_owed", ["payment_session_id"])
    op.create_index(op.f("ix_refunds_owed_state"), "refunds_owed", ["state"])
    op.create_index(op.f("ix_refunds_owed_requested_at"), "refunds_owed", ["requested_at"])


def downgrade() -> None:
    op.drop_table("refunds_owed")
