# mypy: ignore-errors
"""Remote approvals: a laptop's request for a prescriber's or supervisor's decision and its
signed answer.

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-07 01:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('approval_request',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('visit_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('device_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('facts_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('requested_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('answer_device_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('answered_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['requested_by'], ['app_user.name'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_approval_request_role'), 'approval_request', ['role'], unique=False)
    op.create_index(
        op.f('ix_approval_request_requested_by'), 'approval_request', ['requested_by'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_approval_request_requested_by'), table_name='approval_request')
    op.drop_index(op.f('ix_approval_request_role'), table_name='approval_request')
    op.drop_table('approval_request')
