"""A server factory for fault tests: the real app, optionally killed after a push commits.

`FIELDAPP_TEST_KILL_AFTER_PUSH=N`: after the Nth push request's transaction has
committed, the process kills itself with SIGKILL before the reply is sent, exactly the
"server committed, device never heard" window.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from sync.server.asgi import create as create_real


def create() -> Any:
    """The real app, wrapped with the kill hook when asked."""
    app = create_real()
    kill_after = int(os.environ.get("FIELDAPP_TEST_KILL_AFTER_PUSH", "0"))
    if not kill_after:
        return app
    seen = {"pushes": 0}

    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/sync/push":
            await app(scope, receive, send)
            return
        seen["pushes"] += 1

        async def hold_back(message: Any) -> None:
            if seen["pushes"] == kill_after and message["type"] == "http.response.start":
                os.kill(os.getpid(), signal.SIGKILL)  # committed, reply never leaves
            await send(message)

        await app(scope, receive, hold_back)

    return wrapper
