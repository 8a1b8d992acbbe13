# mypy: ignore-errors
"""Records leaving the clinic: legal holds, purge exits (pull removals), DEA inventories.

Revision ID: 0008
Revises: 0002_dispatch
Create Date: 2026-11-23 09:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('legal_hold',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('patient_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('from_day', sa.Date(), nullable=True),
    sa.Column('to_day', sa.Date(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('placed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('placed_at', sa.Float(), nullable=False),
    sa.Column('released_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('released_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('legal_hold', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_hold_patient_id'), ['patient_id'], unique=False)

    op.create_table('purge_exit',
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('record_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('clinician_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('purge_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('purge_exit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purge_exit_clinician_id'), ['clinician_id'], unique=False)

    op.create_table('dea_inventory',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('registration', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('taken_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('taken_at', sa.Float(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dea_inventory', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dea_inventory_as_of'), ['as_of'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dea_inventory', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dea_inventory_as_of'))
    op.drop_table('dea_inventory')
    with op.batch_alter_table('purge_exit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purge_exit_clinician_id'))
    op.drop_table('purge_exit')
    with op.batch_alter_table('legal_hold', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_hold_patient_id'))
    op.drop_table('legal_hold')
