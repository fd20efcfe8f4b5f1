"""uninstall and retention: when an installation was uninstalled, when a configuration was disabled (a
disabled one frees its name), and when retention removed a payment's or a delivery's shopper details

Revision ID: 0005_retention
Revises: 0004_reconcile
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_retention"
down_revision = "0004_reconcile"
branch_labels = None
depends_on = None

LIVE = sa.text("disabled_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("installations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uninstalled_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("paycombat_configs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint("uq_paycombat_configs_installation_id", type_="unique")
        batch_op.create_index(
            "uq_paycombat_configs_live_name", ["installation_id", "name"], unique=True,
            sqlite_where=LIVE, postgresql_where=LIVE,
        )  # fmt: skip
    with op.batch_alter_table("payment_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("paycombat_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("paycombat_deliveries", schema=None) as batch_op:
        batch_op.drop_column("purged_at")
    with op.batch_alter_table("payment_sessions", schema=None) as batch_op:
        batch_op.drop_column("purged_at")
    with op.batch_alter_table("paycombat_configs", schema=None) as batch_op:
        batch_op.drop_index("uq_paycombat_configs_live_name")
        batch_op.create_unique_constraint("uq_paycombat_configs_installation_id", ["installation_id", "name"])
        batch_op.drop_column("disabled_at")
    with op.batch_alter_table("installations", schema=None) as batch_op:
        batch_op.drop_column("uninstalled_at")
