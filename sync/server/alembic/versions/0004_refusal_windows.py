# mypy: ignore-errors
"""Refusal windows: refused tokens and enrolments counted per source, audited once a window.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-23 09:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('refusal_window',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('opened_at', sa.Float(), nullable=False),
    sa.Column('last_at', sa.Float(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('outcomes', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('refusal_window')
