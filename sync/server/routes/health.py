"""`GET /health`: the server and its database answer."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from sqlalchemy import text

from sync.server.db import transaction
from sync.server.deps import Ctx
from sync.server.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(ctx: Ctx) -> Health:
    """Whether the server can reach its database."""
    with transaction(ctx.engine) as session:
        session.execute(text("SELECT 1"))
    return Health(status="ok", database="ok", server_time=_now(ctx))


def _now(ctx: Ctx) -> datetime:
    return ctx.clock()
