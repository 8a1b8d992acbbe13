# mypy: ignore-errors
"""The audit chain's append as one PostgreSQL function: the lock, the chain's head and the
insert in one statement (see `sync.server.audit`). SQLite needs none.

A VOLATILE PL/pgSQL function takes a fresh snapshot for each statement it runs, so the
head is read after the lock is granted and always sees the previous writer's committed
event, as the two statements it replaces did. It runs with the caller's rights (the app
role may insert into the audit table, never change it).

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-07 04:30:00
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# "faud": `sync.server.audit.AUDIT_LOCK_KEY`. The hash is `audit.event_hash` in SQL:
# "seq" sorts last among the fields, so the canonical JSON is `prefix`, the number and "}".
_CREATE = """
CREATE FUNCTION audit_append(
    p_at text, p_actor text, p_device_id text, p_action text, p_outcome text,
    p_detail text, p_prefix text,
    OUT new_seq integer, OUT new_prev text, OUT new_hash text
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    last_seq integer;
    last_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(1717663076);
    SELECT e.seq, e.hash INTO last_seq, last_hash
        FROM audit_event AS e ORDER BY e.seq DESC LIMIT 1;
    new_seq := COALESCE(last_seq, 0) + 1;
    new_prev := COALESCE(last_hash, repeat('0', 64));
    new_hash := encode(sha256(convert_to(
        new_prev || p_prefix || new_seq::text || '}', 'UTF8')), 'hex');
    INSERT INTO audit_event (seq, at, actor, device_id, action, outcome, detail, prev_hash, hash)
    VALUES (new_seq, p_at, p_actor, p_device_id, p_action, p_outcome, p_detail,
            new_prev, new_hash);
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_append(text, text, text, text, text, text, text)")
