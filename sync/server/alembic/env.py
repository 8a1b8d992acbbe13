"""Alembic environment: runs on the connection `migrate.py` hands over, or on the URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from sync.server import (
    break_glass,  # noqa: F401  (break-glass grants and supervisor notices)
    models,  # noqa: F401  (registers the tables for autogenerate)
    plan_models,  # noqa: F401  (dispatch plans and requests)
    records_models,  # noqa: F401  (legal holds, purge exits, DEA inventories)
    safety_notes,  # noqa: F401  (address safety notes)
)

config = context.config
target_metadata = SQLModel.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
