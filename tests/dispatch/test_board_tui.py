"""The board in the terminal: ladder ordering with an injected clock, duress, publish, re-plan."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Static

from fieldapp.clinical.protocol import load_protocol
from fieldapp.routing.settings import load_routing_settings
from fieldapp.services.clock import ManualClock
from fieldapp.tui.board.app import BoardApp
from fieldapp.tui.board.ports import BoardContext
from fieldapp.tui.board.screen import BoardScreen
from tests.dispatch.fakes import DAY, FakeBackend, at, board, bvisit
from tests.dispatch.test_replan import roster

SIZE = (140, 36)


def make_app(backend: FakeBackend, clock: ManualClock, **extra: Any) -> BoardApp:
    """A board app over a fake backend; polling slow so only the test drives it."""
    ctx = BoardContext(
        backend=backend, day=DAY, protocol=load_protocol(), clock=clock, poll_s=3600, **extra
    )
    return BoardApp(ctx)


def a_day(duress: bool = False) -> FakeBackend:
    """a: V1 arrived 09:00 (due out 10:30); b: V3 arrived 10:30; c: on the road later."""
    v1_events = [("arrived", at(9)), ("infusion_started", at(9, 20))]
    if duress:
        v1_events = []
    b_events = [("arrived", at(10, 30))] + ([("duress", at(11))] if duress else [])
    return FakeBackend(
        board(
            ("a", [bvisit("V1", "a", 1, 9, v1_events, n=1), bvisit("V2", "a", 2, 13, n=2)]),
            ("b", [bvisit("V3", "b", 1, 10, b_events, n=3)]),
            ("c", [bvisit("V4", "c", 1, 14, n=4)]),
            unassigned=[bvisit("V5", None, None, 15, n=5)],
        )
    )


def cells(app: BoardApp) -> list[list[str]]:
    """The table's rows as plain text."""
    table = app.screen.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def settle(pilot: Any) -> None:
    """Let workers finish and the screen catch up."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_overdue_visit_rises_to_the_top_with_the_step_due() -> None:
    clock = ManualClock(at(11, 2))  # V1 due out 10:30: 32 min overdue
    app = make_app(a_day(), clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        rows = cells(app)
        assert rows[0][3] == "V1" and rows[0][5] == "+32m dispatcher call"
        assert all(not r[5] for r in rows[1:])
        banner = app.screen.query_one("#board-banner", Static)
        assert banner.has_class("overdue")
        clock.advance(minutes=20)  # 52 min: the supervisor step
        assert isinstance(app.screen, BoardScreen)
        app.screen.recompute()
        await pilot.pause()
        assert cells(app)[0][5] == "+52m supervisor"


async def test_on_time_visits_raise_no_alert() -> None:
    app = make_app(a_day(), ManualClock(at(10, 40)))  # V1 is 10 min past: before +15
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert all(not r[5] for r in cells(app))
        assert not app.screen.query_one("#board-banner", Static).has_class("overdue")


async def test_duress_is_shown_at_once_with_a_bell() -> None:
    backend = a_day()
    app = make_app(backend, ManualClock(at(11, 1)))
    bells: list[int] = []
    async with app.run_test(size=SIZE) as pilot:
        app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
        await settle(pilot)
        assert not bells
        backend.day_board = a_day(duress=True).day_board
        await pilot.press("r")
        await settle(pilot)
        rows = cells(app)
        assert rows[0][3] == "V3" and rows[0][5].startswith("emergency")
        assert app.screen.query_one("#board-banner", Static).has_class("duress")
        assert bells == [1]
        await pilot.press("r")  # the same signal again: shown, not rung again
        await settle(pilot)
        assert bells == [1] and cells(app)[0][3] == "V3"


async def test_publish_asks_then_publishes_the_newest_draft() -> None:
    backend = a_day()
    app = make_app(backend, ManualClock(at(8)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        draft = await backend.store_plan(DAY, {"routes": [], "totals": {"visits_planned": 4}})
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("n")  # declined: nothing published
        await settle(pilot)
        assert backend.published == []
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert backend.published == [str(draft.id)]


async def test_replan_plans_in_a_thread_and_stores_a_draft_keeping_visits_under_way() -> None:
    backend = a_day()
    routing = load_routing_settings()
    routing.planner.solver, routing.planner.time_limit_s = "vroom", 1.0
    app = make_app(backend, ManualClock(at(11)), routing=routing, roster=roster("a", "b", "c"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await settle(pilot)
        assert len(backend.stored) == 1
        plan, sent_roster = backend.stored[0]
        fixed = {s["visit_id"] for r in plan["routes"] for s in r["stops"] if s.get("fixed")}
        v1 = str(bvisit("V1", "a", 1, 9).id)
        v3 = str(bvisit("V3", "b", 1, 10).id)
        assert fixed == {v1, v3}
        assert {c["id"] for c in sent_roster} == {"a", "b", "c"}
        assert not app.screen.query_one("#board-planning").has_class("active")


async def test_cancel_asks_then_cancels_the_selected_visit() -> None:
    backend = a_day()
    app = make_app(backend, ManualClock(at(8)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = app.screen.query_one(DataTable).coordinate_to_cell_key((0, 0)).row_key.value
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert backend.cancelled == [first]


async def test_board_over_the_real_server_shows_a_published_day(
    app: Any, world: Any, api: Any
) -> None:
    from sync.dispatch_client import DispatchClient
    from tests.dispatch.kit import add_patients, plan_doc, request, store_and_publish, upload

    (p1,) = add_patients(world, 1)
    await upload(api, world, [request("R1", p1, 13)])
    await store_and_publish(api, world, plan_doc({"b": [("R1", 13)]}))
    client = DispatchClient(api, "http://127.0.0.1", world.tokens["disp"])
    # Wrapped so the board does not close the fixture's http client on exit.
    board_app = make_app(_NoClose(client), ManualClock(at(8)))  # type: ignore[arg-type]
    async with board_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        rows = cells(board_app)
        assert ["b", "R1"] in [[r[1], r[3]] for r in rows]
        assert "Testpatient" in " ".join(r[4] for r in rows)


class _NoClose:
    """A backend wrapper without `aclose`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "aclose":
            raise AttributeError(name)
        return getattr(self.inner, name)


async def test_a_break_glass_access_awaiting_review_shows_until_reviewed() -> None:
    from uuid import uuid4

    from sync.server.plan_models import BoardBreakGlass

    clock = ManualClock(at(11, 2))
    backend = a_day()
    access = BoardBreakGlass(
        id=uuid4(),
        clinician="a",
        patient_id=uuid4(),
        patient_name="Testpatient Three",
        reason_code="colleague_unavailable",
        granted_at=at(10, 40),
        expires_at=at(11, 40),
    )
    backend.day_board = backend.day_board.model_copy(update={"break_glass": [access]})
    app = make_app(backend, clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        line = app.screen.query_one("#board-break-glass", Static)
        text = str(line.render())
        assert line.display and "BREAK-GLASS awaiting supervisor review: a" in text
        assert "Testpatient Three (colleague unavailable), 10:40–11:40, open now" in text
        clock.advance(minutes=40)
        app.screen.recompute()  # type: ignore[attr-defined]
        assert str(line.render()).endswith("ended")
        backend.day_board = backend.day_board.model_copy(update={"break_glass": []})
        app.screen.load_board()  # type: ignore[attr-defined]
        await settle(pilot)
        assert not line.display  # reviewed: off the board
