"""The ledger service over the real engine: balances, refusals, discrepancies, the day's close."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fieldapp.demo.seattle import SEATTLE
from fieldapp.services.approvals import SimulatedClinic
from fieldapp.services.clock import ManualClock
from fieldapp.services.context import AppServices
from fieldapp.services.ledger import LedgerRefused, mg_problem, parse_mg
from fieldapp.settings import Settings
from sync.approvals import AnswerRefused
from sync.records import DayClosure, Incident, Record, SubstanceEvent


class ListStore:
    """Just enough store for the ledger: records appended to a list."""

    is_locked = False

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.on_before_lock: list[Any] = []

    def save(self, record: Record) -> int:
        self.records.append(record)
        return len(self.records)

    def records_of_kind(self, kind: str) -> list[Record]:
        return [r for r in self.records if kind == r.KIND]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for record in self.records:
            out[record.KIND] = out.get(record.KIND, 0) + 1
        return out


def services() -> tuple[AppServices, ListStore, ManualClock]:
    store = ListStore()
    clock = ManualClock(datetime(2026, 3, 10, 8, 0, tzinfo=SEATTLE))
    return AppServices(store, Settings(), clock=clock), store, clock  # type: ignore[arg-type]


def test_waste_needs_a_witness_and_a_locked_vial_takes_nothing() -> None:
    svc, store, _ = services()
    svc.ledger.carry("V1", Decimal(10), Decimal(20), "L1")
    with pytest.raises(LedgerRefused, match="witness"):
        svc.ledger.waste("V1", Decimal(1), "  ", licensed=True)
    with pytest.raises(LedgerRefused, match="2 witnesses"):
        svc.ledger.breakage("V1", Decimal(1), "only one", licensed=True)
    opened = svc.ledger.count("V1", Decimal("19.5"))  # 0.5 mL short: beyond 0.4 mL
    assert [i.vial_id for i in opened] == ["V1"]
    assert svc.ledger.count("V1", Decimal("19.5")) == []  # one incident per vial
    with pytest.raises(LedgerRefused, match="locked"):
        svc.ledger.waste("V1", Decimal(1), "RN Witness", licensed=True)
    assert sum(isinstance(r, Incident) for r in store.records) == 1


def test_a_fresh_session_reads_the_ledger_back_from_the_store() -> None:
    svc, store, clock = services()
    svc.ledger.carry("V1", Decimal(10), Decimal(20), None)
    again = AppServices(store, Settings(), clock=clock)  # type: ignore[arg-type]
    assert [v.vial for v in again.ledger.carried()] == ["V1"]
    with pytest.raises(LedgerRefused, match="received at 10 mg/mL"):
        again.ledger.carry("V1", Decimal(50), Decimal(10), None)


@settings(max_examples=40, deadline=None)
@given(
    wastes=st.lists(st.integers(min_value=1, max_value=30), max_size=4),
    short_tenths=st.integers(min_value=0, max_value=20),
)
def test_the_day_closes_only_when_the_count_matches(wastes: list[int], short_tenths: int) -> None:
    svc, store, clock = services()
    book = svc.ledger
    book.carry("V1", Decimal(10), Decimal(20), None)
    for tenths in wastes:
        clock.advance(minutes=5)
        book.waste("V1", Decimal(tenths) / 10, "RN Witness", licensed=True)
    left = Decimal(20) - sum((Decimal(t) / 10 for t in wastes), Decimal(0))
    clock.advance(minutes=5)
    book.count("V1", left - Decimal(short_tenths) / 10)
    book.give_back("V1")
    tolerance = Decimal("0.4")  # the larger of 0.1 mL and 2 % of 20 mL
    if Decimal(short_tenths) / 10 > tolerance:
        with pytest.raises(LedgerRefused):
            book.close_day()
        assert any(isinstance(r, Incident) for r in store.records)
    else:
        assert book.close_day().may_close
        assert not any(isinstance(r, Incident) for r in store.records)
        assert sum(isinstance(r, DayClosure) for r in store.records) == 1
    assert all(isinstance(r, SubstanceEvent | Incident | DayClosure) for r in store.records)


@pytest.mark.parametrize("significant", [False, True])
def test_a_supervisors_resolution_lets_a_day_with_a_discrepancy_close(significant: bool) -> None:
    svc, store, clock = services()
    book = svc.ledger
    book.carry("V1", Decimal(10), Decimal(20), None)
    clock.advance(minutes=30)
    book.count("V1", Decimal(15))  # 5 mL short: a discrepancy, the vial locked
    book.give_back("V1")
    with pytest.raises(LedgerRefused, match="cannot close"):
        book.close_day()
    clinic = SimulatedClinic()
    with pytest.raises(ValidationError):  # a ruling without a reason cannot even be signed
        clinic.rule(book, "V1", "Dr. Supervisor", "  ", significant, clock.now())
    book.carry("V2", Decimal(10), Decimal(20), None)
    with pytest.raises(LedgerRefused, match="no open discrepancy"):
        clinic.rule(book, "V2", "Dr. Supervisor", "reason", significant, clock.now())
    book.give_back("V2")
    # A ruling signed by someone the clinic does not vouch for resolves nothing.
    stranger = SimulatedClinic()
    pending = book.ruling_request("V1")
    forged = stranger.answer(pending, "approve", "nothing to see", "Dr. Supervisor", clock.now())
    with pytest.raises(AnswerRefused, match="not one the clinic vouches for"):
        book.resolve("V1", forged, clinic.pinned_key)
    # A prescriber's answer is no supervisor's ruling.
    as_prescriber = clinic.answer(pending, "approve", "ok", "drp", clock.now(), role="prescriber")
    with pytest.raises(AnswerRefused, match="Only a supervisor"):
        book.resolve("V1", as_prescriber, clinic.pinned_key)
    clinic.rule(
        book,
        "V1",
        "Dr. Supervisor",
        "spilled while drawing, seen by the patient",
        significant,
        clock.now(),
    )
    day = book.close_day()
    assert day.may_close
    assert bool(day.obligations) is significant  # DEA duties only for a significant loss
    resolution = [r for r in store.records if isinstance(r, SubstanceEvent)][-1]
    assert resolution.event == "resolution" and resolution.significant_loss is significant
    assert resolution.ruling is not None and resolution.witness == "Dr. Supervisor"
    # The day still shows the discrepancy that was resolved: nothing is hidden.
    assert day.vials["V1"].status == "discrepancy"


def test_an_unlicensed_waste_witness_is_refused_before_anything_is_destroyed() -> None:
    svc, store, _ = services()
    svc.ledger.carry("V1", Decimal(10), Decimal(20), None)
    before = len(store.records)
    with pytest.raises(LedgerRefused, match="waste_witness_must_be_licensed"):
        svc.ledger.waste("V1", Decimal(1), "A neighbour", licensed=False)
    assert len(store.records) == before  # nothing recorded, nothing to reconcile
    svc.ledger.waste("V1", Decimal(1), "RN Witness", licensed=True)
    [waste] = [r for r in store.records if isinstance(r, SubstanceEvent) and r.event == "waste"]
    assert waste.witness_licensed is True


def test_a_breakage_without_licensed_witnesses_goes_through_a_discrepancy() -> None:
    svc, store, clock = services()
    book = svc.ledger
    book.carry("V1", Decimal(10), Decimal(20), None)
    clock.advance(minutes=10)
    with pytest.raises(LedgerRefused, match="count the vial"):
        book.breakage("V1", Decimal(5), "Family member; Neighbour", licensed=False)
    assert not any(isinstance(r, SubstanceEvent) and r.event == "breakage" for r in store.records)
    # what the clinician is told to do: the short count opens a discrepancy for review
    [incident] = book.count("V1", Decimal(15))
    assert incident.category == "ledger_discrepancy"
    book.give_back("V1")
    SimulatedClinic().rule(
        book, "V1", "Dr. Supervisor", "vial dropped on the porch, 5 mL lost", False, clock.now()
    )
    assert book.close_day().may_close


def test_a_clinic_that_allows_unlicensed_witnesses_records_them_as_such(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fieldapp.services import engine

    shipped = engine.protocol()
    relaxed = shipped.model_copy(
        update={
            "ledger": shipped.ledger.model_copy(update={"waste_witness_must_be_licensed": False})
        }
    )
    monkeypatch.setattr(engine, "protocol", lambda path=None: relaxed)
    svc, store, clock = services()
    book = svc.ledger
    book.carry("V1", Decimal(10), Decimal(20), None)
    clock.advance(minutes=10)
    book.waste("V1", Decimal(20), "A neighbour", licensed=False)
    book.count("V1", Decimal(0))
    book.give_back("V1")
    [waste] = [r for r in store.records if isinstance(r, SubstanceEvent) and r.event == "waste"]
    assert waste.witness_licensed is False
    assert book.close_day().may_close


def test_closing_the_day_records_it_for_the_clinic_and_a_refused_close_records_nothing() -> None:
    svc, store, clock = services()
    book = svc.ledger
    book.carry("V1", Decimal(10), Decimal(20), None)
    clock.advance(minutes=30)
    book.count("V1", Decimal(15))  # 5 mL short: the day may not close yet
    with pytest.raises(LedgerRefused):
        book.close_day()
    assert not any(isinstance(r, DayClosure) for r in store.records)
    book.give_back("V1")
    SimulatedClinic().rule(
        book,
        "V1",
        "Dr. Supervisor",
        "spilled while drawing, seen by the patient",
        True,
        clock.now(),
    )
    clock.advance(minutes=5)
    book.close_day()
    [closure] = [r for r in store.records if isinstance(r, DayClosure)]
    assert closure.day == clock.now().date() and closure.closed_at == clock.now()
    assert closure.patient_id is None and closure.recorded_by == svc.user
    assert [(v.vial_id, v.status) for v in closure.vials] == [("V1", "discrepancy")]
    assert (
        {duty.kind for duty in closure.duties}
        == {duty.kind for duty in book.day().obligations}
        != set()
    )  # a significant loss: the DEA duties go with the close


@settings(max_examples=60, deadline=None)
@given(
    strength=st.sampled_from([Decimal(10), Decimal(50), Decimal(100), Decimal(3), Decimal("7.5")]),
    cmg=st.lists(st.integers(min_value=1, max_value=2000), min_size=1, max_size=4),
)
def test_waste_typed_in_mg_keeps_the_mg_exact_and_the_ml_beside_it(
    strength: Decimal, cmg: list[int]
) -> None:
    """Any strength, any amounts in hundredths of a mg: the mg recorded is the mg typed,
    the mL is that at the vial's strength, and the day's wasted mg is their exact sum."""
    svc, _, clock = services()
    book = svc.ledger
    book.carry("V1", strength, Decimal(20), None)
    for amount in cmg:
        clock.advance(minutes=1)
        typed = f"{Decimal(amount) / 100}"
        entry = book.waste_mg("V1", parse_mg(typed), "RN Witness", licensed=True)
        assert Decimal(str(entry.mg)) == Decimal(typed)
        assert abs(Decimal(str(entry.ml)) * strength - Decimal(typed)) < Decimal("0.01")
    day = book.day().vials["V1"]
    assert day.numbers["wasted_mg"] == sum((Decimal(a) / 100 for a in cmg), Decimal(0))
    assert not any(r.rule_id == "entry_mismatch" for r in day.reasons)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("2.555", "more than two decimals"),
        ("0", "more than 0"),
        ("-1", "number of mg"),
        ("1e3", "number of mg"),
        ("12,5", "number of mg"),
        ("10000.01", "at most 10000 mg"),
    ],
)
def test_an_amount_in_mg_that_is_not_one_is_refused(typed: str, problem: str) -> None:
    assert problem in (mg_problem(typed) or "")
    with pytest.raises(LedgerRefused, match=problem):
        parse_mg(typed)


def test_breakage_typed_in_mg_records_both_units() -> None:
    svc, _, _ = services()
    svc.ledger.carry("V1", Decimal(50), Decimal(10), None)
    entry = svc.ledger.breakage_mg("V1", Decimal("125.5"), "RN A; RN B", licensed=True)
    assert (entry.mg, entry.ml) == (125.5, 2.51)
    vial = svc.ledger.vial("V1")
    assert vial.in_vial_mg == Decimal("374.50") and vial.in_vial_ml == Decimal("7.49")
