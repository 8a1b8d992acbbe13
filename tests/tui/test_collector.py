"""Full garbage collections wait for a pause in the typing, and the app puts Python's
collector back as it found it."""

from __future__ import annotations

import gc

from fieldapp.tui.app import FieldApp
from fieldapp.tui.collector import (
    FULL_EVERY,
    PAUSE_S,
    IdleCollector,
    hold_for_launch,
    release_after_launch,
)
from tests.tui.helpers import unlock


class Clock:
    """Seconds that move only when told."""

    def __init__(self) -> None:
        self.at = 100.0

    def __call__(self) -> float:
        return self.at


def test_a_full_collection_runs_once_per_pause_and_never_while_typing() -> None:
    clock = Clock()
    collector = IdleCollector(now=clock)
    assert not collector.collect_if_paused()  # no key yet: nothing to tidy after
    for _ in range(5):
        collector.activity()
        clock.at += PAUSE_S / 4
        assert not collector.collect_if_paused()
    clock.at += PAUSE_S
    assert collector.collect_if_paused()
    assert not collector.collect_if_paused()  # the same pause: once
    collector.activity()
    clock.at += PAUSE_S
    assert collector.collect_if_paused()
    assert collector.collections == 2


def test_start_and_stop_put_the_collector_back() -> None:
    before = gc.get_threshold()
    collector = IdleCollector()
    collector.start()
    try:
        assert gc.get_threshold()[2] == before[2] * FULL_EVERY
        assert gc.get_threshold()[:2] == before[:2]
        assert gc.get_freeze_count() > 0
    finally:
        collector.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    collector.stop()  # twice: harmless
    assert gc.get_threshold() == before


def test_the_launch_hold_lasts_until_the_app_starts_its_collector() -> None:
    collector = IdleCollector()
    hold_for_launch()
    try:
        assert not gc.isenabled()
        collector.start()
        assert gc.isenabled()
    finally:
        collector.stop()
        release_after_launch()
    assert gc.isenabled()


def test_releasing_never_turns_on_a_collector_someone_else_turned_off() -> None:
    gc.disable()
    try:
        hold_for_launch()  # already off: not ours to turn back on
        release_after_launch()
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_the_app_collects_at_a_pause_and_restores_the_collector_on_exit(
    app: FieldApp,
) -> None:
    before = gc.get_threshold()
    async with app.run_test(size=(100, 32)) as pilot:
        await unlock(pilot)
        assert gc.get_threshold()[2] == before[2] * FULL_EVERY
        await pilot.press("down")
        ran = app.collector.collections
        for _ in range(50):  # the pause ends when the next half-second check sees it
            await pilot.pause(PAUSE_S / 4)
            if app.collector.collections > ran:
                break
        assert app.collector.collections == ran + 1
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
