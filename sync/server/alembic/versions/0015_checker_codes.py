# mypy: ignore-errors
"""One-time checker codes: a colleague's proof that they enrolled as a second checker on
another clinician's laptop (`sync.server.checker_codes`). Both parts of a code are kept
only as hashes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 15:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checker_code',
    sa.Column('id_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('secret_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('issued_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.Float(), nullable=True),
    sa.Column('used_device_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('used_public_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_name'], ['app_user.name'], ),
    sa.PrimaryKeyConstraint('id_hash')
    )
    with op.batch_alter_table('checker_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checker_code_user_name'), ['user_name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('checker_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checker_code_user_name'))
    op.drop_table('checker_code')
