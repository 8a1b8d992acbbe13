# mypy: ignore-errors
"""Duress credentials (one per device, usable only to post a duress signal) and the public
keys clinicians sign notes with.

Revision ID: 0007
Revises: 0002_dispatch
Create Date: 2026-11-23 09:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0007'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('duress_key',
    sa.Column('device_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('user_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('last_used_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['user_name'], ['app_user.name'], ),
    sa.PrimaryKeyConstraint('device_id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('signing_key',
    sa.Column('device_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('user_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('public_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['user_name'], ['app_user.name'], ),
    sa.PrimaryKeyConstraint('device_id')
    )


def downgrade() -> None:
    op.drop_table('signing_key')
    op.drop_table('duress_key')
