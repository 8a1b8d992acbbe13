# mypy: ignore-errors
"""Dispatch planning: visit requests and stored plans.

Revision ID: 0002_dispatch
Revises: 0001
Create Date: 2026-11-22 03:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0002_dispatch'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dispatch_plan',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('scheduled_on', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('plan', sa.Text(), nullable=False),
    sa.Column('roster', sa.Text(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('published_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('published_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dispatch_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_plan_scheduled_on'), ['scheduled_on'], unique=False)

    op.create_table('dispatch_request',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('scheduled_on', sa.Date(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('patient_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scheduled_on', 'ref')
    )
    with op.batch_alter_table('dispatch_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_request_scheduled_on'), ['scheduled_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dispatch_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_request_scheduled_on'))
    op.drop_table('dispatch_request')
    with op.batch_alter_table('dispatch_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_plan_scheduled_on'))
    op.drop_table('dispatch_plan')
