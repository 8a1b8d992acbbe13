"""Dispatch fixtures: the server fixtures of tests/sync (SQLite, and PostgreSQL when it answers)."""

from __future__ import annotations

from tests.sync.conftest import api, app, clock, db_url, world

__all__ = ["api", "app", "clock", "db_url", "world"]
