"""The migrations build exactly the tables the models describe, on SQLite and PostgreSQL.

A model changed without its migration (or the reverse) would pass every test run on a
database made from the models, and fail only on a clinic's migrated one.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import sync.server.models
import sync.server.plan_models
import sync.server.records_models

# Every module that defines tables, so that `SQLModel.metadata` holds them all.
TABLE_MODULES = (sync.server.models, sync.server.plan_models, sync.server.records_models)


def test_a_migrated_database_has_what_the_models_describe(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []
