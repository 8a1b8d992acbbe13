# mypy: ignore-errors
"""Clinician profiles: each clinician's credentials (ACLS, licence, the prescriber's DEA
states) as the clinic holds them, pulled by that clinician's laptops.

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-07 01:10:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0012'
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clinician_profile',
    sa.Column('user_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('change_seq', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['user_name'], ['app_user.name'], ),
    sa.PrimaryKeyConstraint('user_name'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('clinician_profile', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clinician_profile_change_seq'), ['change_seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('clinician_profile', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clinician_profile_change_seq'))
    op.drop_table('clinician_profile')
