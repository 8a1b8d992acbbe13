# mypy: ignore-errors
"""Break-glass access: grants (one patient, for a set time, with the clinician's reason and
the supervisor's review) and the supervisor notices they raise.

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-07 01:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0011'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('break_glass_grant',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('clinician', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('device_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('patient_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('reason_code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.Column('change_seq', sa.Integer(), nullable=False),
    sa.Column('ended_seq', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.Float(), nullable=True),
    sa.Column('reviewed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('reviewed_device', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['clinician'], ['app_user.name'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_break_glass_grant_clinician'), 'break_glass_grant', ['clinician'], unique=False)
    op.create_index(op.f('ix_break_glass_grant_patient_id'), 'break_glass_grant', ['patient_id'], unique=False)
    op.create_index(op.f('ix_break_glass_grant_expires_at'), 'break_glass_grant', ['expires_at'], unique=False)
    op.create_index(op.f('ix_break_glass_grant_change_seq'), 'break_glass_grant', ['change_seq'], unique=False)
    op.create_index(op.f('ix_break_glass_grant_ended_seq'), 'break_glass_grant', ['ended_seq'], unique=False)
    op.create_table('supervisor_notice',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('subject_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('clinician', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('closed_at', sa.Float(), nullable=True),
    sa.Column('closed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_supervisor_notice_subject_id'), 'supervisor_notice', ['subject_id'], unique=False)
    op.create_index(op.f('ix_supervisor_notice_created_at'), 'supervisor_notice', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_supervisor_notice_created_at'), table_name='supervisor_notice')
    op.drop_index(op.f('ix_supervisor_notice_subject_id'), table_name='supervisor_notice')
    op.drop_table('supervisor_notice')
    op.drop_index(op.f('ix_break_glass_grant_ended_seq'), table_name='break_glass_grant')
    op.drop_index(op.f('ix_break_glass_grant_change_seq'), table_name='break_glass_grant')
    op.drop_index(op.f('ix_break_glass_grant_expires_at'), table_name='break_glass_grant')
    op.drop_index(op.f('ix_break_glass_grant_patient_id'), table_name='break_glass_grant')
    op.drop_index(op.f('ix_break_glass_grant_clinician'), table_name='break_glass_grant')
    op.drop_table('break_glass_grant')
