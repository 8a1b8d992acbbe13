"""A worker replaced before it starts leaves no coroutine behind that was never awaited
(the monkey pressing ctrl+e twice on the lock screen found one: `DuressKey.send_duress`)."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App

from fieldapp.tui.deferred import deferred


async def _replace_a_worker_before_it_starts(make: Callable[[Any], Awaitable[None]]) -> list[str]:
    """Start two exclusive workers in the same tick; the first is cancelled unstarted.
    Returns the warnings Python gave, and checks the second one ran."""
    ran: list[int] = []

    class Two(App[None]):
        async def work(self, n: int) -> None:
            ran.append(n)

        def on_mount(self) -> None:
            self.run_worker(make(lambda: self.work(1)), group="g", exclusive=True)
            self.run_worker(make(lambda: self.work(2)), group="g", exclusive=True)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = Two()
        async with app.run_test() as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
        del app
        gc.collect()
    assert ran == [2]
    return [str(w.message) for w in caught if "never awaited" in str(w.message)]


async def test_a_deferred_worker_replaced_before_it_starts_leaves_nothing() -> None:
    assert await _replace_a_worker_before_it_starts(lambda make: deferred(make)) == []


async def test_a_coroutine_made_for_a_worker_replaced_before_it_starts_is_never_awaited() -> None:
    # What `deferred` is for: the coroutine made at the call is left unawaited.
    found = await _replace_a_worker_before_it_starts(lambda make: make())
    assert found and "was never awaited" in found[0]
