# mypy: ignore-errors
"""Second checkers' public keys, filed by the laptop each was enrolled on and bound to the
checker's clinic user.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 04:20:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0013'
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checker_key',
    sa.Column('device_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('public_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('checker', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('filed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('filed_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['checker'], ['app_user.name'], ),
    sa.ForeignKeyConstraint(['filed_by'], ['app_user.name'], ),
    sa.PrimaryKeyConstraint('device_id', 'public_key')
    )
    with op.batch_alter_table('checker_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checker_key_filed_by'), ['filed_by'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('checker_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checker_key_filed_by'))
    op.drop_table('checker_key')
