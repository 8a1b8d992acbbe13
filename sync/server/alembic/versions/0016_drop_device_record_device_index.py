# mypy: ignore-errors
"""No query reads a device's stored records by its device id (a push finds its own through
its receipts, keyed by device and seq): the index on `device_record.device_id` only cost
every pushed record one more index entry to write.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 19:00:00
"""

from alembic import op


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("device_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_record_device_id"))


def downgrade() -> None:
    with op.batch_alter_table("device_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_record_device_id"), ["device_id"], unique=False)
