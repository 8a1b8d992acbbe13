# mypy: ignore-errors
"""Indexes keyed by a clinician's scope and the pull cursor, so a device's sync costs what
its own scope holds, not the clinic's history (years of visits, reassignments, purges).

- visit (clinician_id, scheduled_on): the scope, the manifest, visits that left the window;
- visit (clinician_id, change_seq): a pull's changes after its cursor;
- visit_exit (clinician_id, seq), purge_exit (clinician_id, seq): the same for removals;
- visit_exit (visit_id), (patient_id): a push's reach check (visits a clinician ever had).

The single-column clinician indexes they start with are dropped (each new one serves the
same lookups), and so is visit (change_seq): every pull reads one clinician's changes, and
that index let a plan walk the whole clinic's changes after a cursor instead.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-07 01:30:00
"""

from alembic import op

revision = "0009"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index("ix_visit_clinician_day", ["clinician_id", "scheduled_on"])
        batch_op.create_index("ix_visit_clinician_change", ["clinician_id", "change_seq"])
        batch_op.drop_index("ix_visit_clinician_id")
        batch_op.drop_index("ix_visit_change_seq")
    with op.batch_alter_table("visit_exit", schema=None) as batch_op:
        batch_op.create_index("ix_visit_exit_clinician_seq", ["clinician_id", "seq"])
        batch_op.create_index("ix_visit_exit_visit_id", ["visit_id"])
        batch_op.create_index("ix_visit_exit_patient_id", ["patient_id"])
        batch_op.drop_index("ix_visit_exit_clinician_id")
    with op.batch_alter_table("purge_exit", schema=None) as batch_op:
        batch_op.create_index("ix_purge_exit_clinician_seq", ["clinician_id", "seq"])
        batch_op.drop_index("ix_purge_exit_clinician_id")


def downgrade() -> None:
    with op.batch_alter_table("purge_exit", schema=None) as batch_op:
        batch_op.create_index("ix_purge_exit_clinician_id", ["clinician_id"])
        batch_op.drop_index("ix_purge_exit_clinician_seq")
    with op.batch_alter_table("visit_exit", schema=None) as batch_op:
        batch_op.create_index("ix_visit_exit_clinician_id", ["clinician_id"])
        batch_op.drop_index("ix_visit_exit_patient_id")
        batch_op.drop_index("ix_visit_exit_visit_id")
        batch_op.drop_index("ix_visit_exit_clinician_seq")
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index("ix_visit_clinician_id", ["clinician_id"])
        batch_op.create_index("ix_visit_change_seq", ["change_seq"])
        batch_op.drop_index("ix_visit_clinician_change")
        batch_op.drop_index("ix_visit_clinician_day")
