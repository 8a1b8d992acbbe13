# mypy: ignore-errors
"""Address safety notes: category and level on a patient's address, with review and expiry.

Revision ID: 0005
Revises: 0002_dispatch
Create Date: 2026-12-03 10:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('address_safety_note',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('patient_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('review_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('withdrawn_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('withdrawn_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('address_safety_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_address_safety_note_patient_id'), ['patient_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('address_safety_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_address_safety_note_patient_id'))
    op.drop_table('address_safety_note')
