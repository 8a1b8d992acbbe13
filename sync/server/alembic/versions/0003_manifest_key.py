# mypy: ignore-errors
"""The key the server signs pull manifests with (`sync.manifest`), one per database.

Revision ID: 0003
Revises: 0002_dispatch
Create Date: 2026-11-23 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from sync.manifest import new_signing_key

revision = "0003"
down_revision = "0002_dispatch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.bulk_insert(
        sa.table("server_meta", sa.column("key", sa.String), sa.column("value", sa.String)),
        [{"key": "manifest_key", "value": new_signing_key()}],
    )


def downgrade() -> None:
    op.execute("DELETE FROM server_meta WHERE key = 'manifest_key'")
