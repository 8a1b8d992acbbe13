"""The board's ladder ordering over varied days (hypothesis), against the protocol's steps."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.clinical.protocol import load_protocol
from fieldapp.dispatch.watch import step_rank, watch_day
from tests.dispatch.fakes import at, board, bvisit

PROTOCOL = load_protocol()
STEPS = PROTOCOL.lone_worker.steps

visit_state = st.tuples(
    st.integers(min_value=0, max_value=300),  # arrival, minutes after 08:00 (or not arrived)
    st.booleans(),  # arrived at all
    st.booleans(),  # checked out
    st.booleans(),  # duress
)


@settings(max_examples=60, deadline=None)
@given(states=st.lists(visit_state, min_size=1, max_size=8), now_min=st.integers(0, 600))
def test_alerts_come_first_worst_first_with_the_protocols_step(
    states: list[tuple[int, bool, bool, bool]], now_min: int
) -> None:
    now = at(8) + timedelta(minutes=now_min)
    visits = []
    expected: dict[str, str] = {}
    for i, (arrive_min, arrived, out, duress) in enumerate(states):
        arrival = at(8) + timedelta(minutes=arrive_min)
        events = []
        if arrived and arrival <= now:
            events.append(("arrived", arrival))
            end = arrival + timedelta(minutes=90)
            if out and end <= now:
                events.append(("checked_out", end))
        if duress:
            events.append(("duress", min(now, arrival)))
        ref = f"V{i}"
        visits.append(bvisit(ref, "a", i + 1, 8, events, n=i))
        if duress:
            expected[ref] = "emergency"
        elif not events or events[-1][0] == "checked_out":
            expected[ref] = "none"
        else:
            overdue = (now - (arrival + timedelta(minutes=90))).total_seconds() / 60
            reached = [s.id for s in STEPS if overdue >= s.after_minutes]
            expected[ref] = reached[-1] if reached else "none"
    rows = watch_day(board(("a", visits)), PROTOCOL, now).rows
    assert {r.visit.ref: r.step for r in rows} == expected
    ranks = [step_rank(r.step, PROTOCOL) for r in rows]
    alerts = [rank for rank in ranks if rank > 0]
    assert ranks[: len(alerts)] == alerts  # every alert above every quiet row
    assert alerts == sorted(alerts, reverse=True)  # worst first


def test_a_duress_sent_away_from_any_visit_shows_on_the_clinicians_next_visit() -> None:
    day = board(
        ("a", [bvisit("V1", "a", 1, 9, [("checked_out", at(10))]), bvisit("V2", "a", 2, 13)])
    )
    day.clinicians[0].duress_at = at(11, 30)
    watch = watch_day(day, PROTOCOL, at(11, 31))
    assert watch.duress == [("a", at(11, 30))]
    assert watch.rows[0].visit.ref == "V2" and watch.rows[0].step == "emergency"


def test_a_declined_visit_stays_under_watch_until_check_out() -> None:
    """No infusion, but the clinician is still in the home: the ladder runs until they
    check out (a visit declined used to read as a check-out, and the board went quiet)."""
    last = STEPS[-1]
    now = at(9) + timedelta(minutes=90 + last.after_minutes)
    declined = [("arrived", at(9)), ("declined", at(9, 20))]
    day = board(("a", [bvisit("V1", "a", 1, 9, declined)]))
    assert watch_day(day, PROTOCOL, now).rows[0].step == last.id
    left = board(("a", [bvisit("V1", "a", 1, 9, [*declined, ("checked_out", at(9, 30))])]))
    assert watch_day(left, PROTOCOL, now).rows[0].step == "none"
