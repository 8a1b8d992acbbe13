# mypy: ignore-errors
"""The key the server signs pull manifests with (`sync.manifest`), one per database; and
each device's head brought back to its newest seq with none missing below.

Before this revision a push could skip seqs and still move the head past them (a server
restored from a backup took 796 and then 806). Lowering such a head makes the device's next
push meet `push_gap`, and the device sends the missing records again.

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


GENESIS = "0" * 64

# The first receipt whose successor is missing ends the run from seq 1 (none: no seq 1).
_GAP_FREE_HEAD = """
    SELECT min(r.seq) FROM device_receipt r
    WHERE r.device_id = device.id AND NOT EXISTS (
        SELECT 1 FROM device_receipt n WHERE n.device_id = r.device_id AND n.seq = r.seq + 1)
"""


def upgrade() -> None:
    op.bulk_insert(
        sa.table("server_meta", sa.column("key", sa.String), sa.column("value", sa.String)),
        [{"key": "manifest_key", "value": new_signing_key()}],
    )
    has_first = (
        "EXISTS (SELECT 1 FROM device_receipt f WHERE f.device_id = device.id AND f.seq = 1)"
    )
    head = f"CASE WHEN {has_first} THEN ({_GAP_FREE_HEAD}) ELSE 0 END"
    op.execute(
        f"""
        UPDATE device SET
            head_hash = COALESCE((SELECT h.chain_hash FROM device_receipt h
                                  WHERE h.device_id = device.id AND h.seq = {head}),
                                 '{GENESIS}'),
            head_seq = {head}
        """
    )


def downgrade() -> None:
    op.execute("DELETE FROM server_meta WHERE key = 'manifest_key'")
