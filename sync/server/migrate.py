"""Bring a database to the newest schema (Alembic), and on PostgreSQL set up the app role.

The app role may read and write the working tables but only INSERT and SELECT the audit
table, so even a compromised server process cannot rewrite history. Migrations run as the
owner; the server then connects as the app role (see the README).
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from sync.server.db import new_engine

ALEMBIC_DIR = Path(__file__).resolve().parent / "alembic"
_ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def alembic_config(connection: Connection) -> Config:
    """An Alembic config for our scripts, running on this connection."""
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.attributes["connection"] = connection
    return config


def migrate(database_url: str, app_role: str | None = None) -> str:
    """Upgrade to the newest revision; returns it. Optionally grant the app role."""
    engine = new_engine(database_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
            revision = connection.execute(
                text("SELECT version_num FROM alembic_version")
            ).scalar_one()
            if app_role is not None:
                grant_app_role(connection, app_role)
        return str(revision)
    finally:
        engine.dispose()


def grant_app_role(connection: Connection, role: str) -> None:
    """Create (if needed) a PostgreSQL role that may only INSERT and SELECT the audit table."""
    if connection.dialect.name != "postgresql":
        raise ValueError("an app role is a PostgreSQL feature; SQLite uses triggers instead")
    if not _ROLE_RE.match(role):
        raise ValueError("app role: use lowercase letters, digits and _ only")
    schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    exists = connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
    ).first()
    if exists is None:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    quoted = f'"{schema}"'
    for statement in (
        f'GRANT USAGE ON SCHEMA {quoted} TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {quoted} TO "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quoted} TO "{role}"',
        f'REVOKE UPDATE, DELETE, TRUNCATE ON {quoted}.audit_event FROM "{role}"',
        f'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {quoted}.alembic_version FROM "{role}"',
    ):
        connection.execute(text(statement))
