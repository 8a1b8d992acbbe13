"""The app factory uvicorn workers call: settings from `config/server.toml` and the env.

`fieldapp server run` passes its options through `FIELDAPP_SERVER_CONFIG` and
`FIELDAPP_DATABASE_URL`, so every worker process builds the same app.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from sync.server.config import load_server_settings
from sync.server.main import create_app


def create() -> FastAPI:
    """A server app from the config file and environment."""
    path = os.environ.get("FIELDAPP_SERVER_CONFIG")
    return create_app(load_server_settings(Path(path) if path else None))
