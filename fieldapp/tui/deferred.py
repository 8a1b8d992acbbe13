"""Work handed to a Textual worker that is made only when the worker runs.

A coroutine object made at `run_worker(self.work())` is never awaited when the worker is
cancelled before it starts (an `exclusive` worker replaced by the next key press, or the
app closing): Python then warns "coroutine ... was never awaited" at some later garbage
collection. `deferred(self.work)` makes the coroutine only when the worker awaits it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any


class _Deferred:
    """An awaitable that calls `make` when, and only when, it is awaited."""

    def __init__(self, make: Callable[[], Awaitable[None]]) -> None:
        self._make = make

    def __await__(self) -> Generator[Any, None, None]:
        return self._make().__await__()


def deferred(work: Callable[..., Awaitable[None]], *args: Any) -> Awaitable[None]:
    """`work(*args)`, made when a worker awaits it."""
    return _Deferred(lambda: work(*args))
