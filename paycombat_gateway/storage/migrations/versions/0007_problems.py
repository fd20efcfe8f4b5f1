"""problems: channels shoppers tried to pay in with PayCombat while no configuration held them

Revision ID: 0007_problems
Revises: 0006_money_truth
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_problems"
down_revision = "0006_money_truth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unconfigured_channel_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("installation_id", sa.Integer(), nullable=False),
        sa.Column("channel_slug", sa.String(length=255), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["installation_id"], ["installations.id"],
            name=op.f("fk_unconfigured_channel_attempts_installation_id_installations"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unconfigured_channel_attempts")),
        sa.UniqueConstraint(
            "installation_id", "channel_slug", name=op.f("uq_unconfigured_channel_attempts_installation_id")
        ),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("unconfigured_channel_attempts")
