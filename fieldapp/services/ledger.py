"""The controlled-substance ledger of the day: entries in, the engine's reconciliation out.

Every entry is a `SubstanceEvent` appended to the store: carrying a vial out, a draw for
a dose, the dose given, witnessed waste, breakage, a count, the return. The engine
(`fieldapp.clinical.ledger`) reconciles each vial from its whole history; this module
turns records into the engine's events, refuses entries that make no sense (a locked
vial, waste without a witness), and opens an incident the first time a vial shows a
discrepancy. Closing the day is the engine's `may_close`, never a judgement made here.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fieldapp.clinical.ledger import DayLedger, LedgerEvent, VialStatus, Witness, evaluate_day
from fieldapp.errors import FieldAppError
from fieldapp.services import engine
from fieldapp.services.approvals import PendingRequest, new_request
from fieldapp.services.clock import today
from fieldapp.services.validation import bounds_of
from sync.approvals import Facts, RequestPublic, RuleFact
from sync.records import ClosedVial, DayClosure, DutyDue, Incident, SubstanceEvent

if TYPE_CHECKING:
    from fieldapp.services.context import AppServices
    from fieldapp.services.visit import VisitSession

# The record's event names and the engine's, where they differ.
ENGINE_KIND = {"administration": "administer"}
USES = ("draw", "administration", "waste", "breakage", "loss", "overage")
WITNESS_SEPARATOR = ";"


class LedgerRefused(FieldAppError):
    """A ledger entry or the day's close was refused; the message says why."""


@dataclass(frozen=True)
class Vial:
    """A vial as the forms need it: id, strength, fill, lot, what is left, where it is."""

    vial: str
    mg_per_ml: Decimal
    fill_ml: Decimal
    lot: str | None
    in_vial_ml: Decimal
    carried: bool
    locked: bool
    status: str

    @property
    def in_vial_mg(self) -> Decimal:
        """What is left in the vial in mg, to the hundredth (the unit the clinician reads)."""
        return (self.in_vial_ml * self.mg_per_ml).quantize(Decimal("0.01"))


def _dec(value: float) -> Decimal:
    return Decimal(str(value))


MG_PLACES = Decimal("0.01")
MG_TEXT = re.compile(r"[0-9]{1,6}(\.[0-9]{1,2})?")
MG_TOO_FINE = re.compile(r"[0-9]{1,6}\.[0-9]{3,}")
"""Ketamine is typed in mg to the hundredth at most: the ledger's exact unit, never rounded."""
MAX_MG = Decimal(str(bounds_of(SubstanceEvent, "mg").high)).normalize()
"""The most one ledger entry may hold: the record schema's range, the one definition."""


def mg_problem(text: str) -> str | None:
    """Why `text` is not an amount of ketamine in mg (ASCII digits, at most two decimals,
    more than 0, within the ledger record's range), or None. Says the rule, never the
    value typed."""
    raw = text.strip()
    if MG_TOO_FINE.fullmatch(raw):
        return "The amount has more than two decimals: mg to the hundredth at most"
    if not MG_TEXT.fullmatch(raw):
        return "The amount must be a number of mg, e.g. 12.5"
    value = Decimal(raw)
    if value <= 0 or value > MAX_MG:
        return f"The amount must be more than 0 and at most {MAX_MG:f} mg"
    return None


def parse_mg(text: str) -> Decimal:
    """An amount typed in mg, exactly as typed (`LedgerRefused` when `mg_problem` says so)."""
    problem = mg_problem(text)
    if problem is not None:
        raise LedgerRefused(problem + ".")
    return Decimal(text.strip())


def ml_of(mg: Decimal, mg_per_ml: Decimal) -> Decimal:
    """mL for `mg` at a strength, to 4 places (the engine checks mg and mL agree to
    `ledger.entry_agreement_mg`; 4 places stay well inside it at any legal strength)."""
    return (mg / mg_per_ml).quantize(Decimal("0.0001"))


def ml_text(ml: Decimal) -> str:
    """mL as the ledger shows it beside mg: two decimals."""
    return f"{ml.quantize(MG_PLACES)} mL"


def witnesses_of(text: str | None) -> list[str]:
    """The witness names typed as "A; B"."""
    return [n.strip() for n in (text or "").split(WITNESS_SEPARATOR) if n.strip()]


def to_engine(record: SubstanceEvent) -> LedgerEvent:
    """One stored entry as the engine's ledger event."""
    kind = ENGINE_KIND.get(record.event, record.event)
    data: dict[str, Any] = {"kind": kind, "vial": record.vial_id, "at": record.at}
    if record.event == "receipt":
        data["mg_per_ml"] = _dec(record.concentration_mg_per_ml)
        data["fill_ml"] = _dec(record.fill_ml or record.ml)
    elif record.event == "count":
        data["measured_ml"] = _dec(record.ml)
    elif record.event in USES:
        data["mg"], data["ml"] = _dec(record.mg), _dec(record.ml)
    if record.event in ("loss", "resolution"):
        data["significant"] = record.significant_loss
    if record.event in ("loss", "resolution", "overage"):
        data["reason"] = record.note
    if record.witness:
        method = record.method or "in_person"
        licensed = record.witness_licensed is True  # a licence nobody attested to is none
        data["witnesses"] = [
            Witness(name=n, method=method, licensed=licensed) for n in witnesses_of(record.witness)
        ]
    return LedgerEvent.model_validate(data)


class LedgerBook:
    """The clinician's ledger: loaded once per session from the store, then kept current."""

    def __init__(self, services: AppServices) -> None:
        self.services = services
        self._events: list[SubstanceEvent] | None = None
        self._incident_vials: set[str] = set()
        self._rulings: dict[str, PendingRequest] = {}  # supervisor rulings asked, by vial

    # -- reading -------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether the entries have been read from the store."""
        return self._events is not None

    def load(self) -> None:
        """Read every ledger entry and ledger incident (slow on a big store: use a worker)."""
        store = self.services.store
        # The kind is readable in the store: only ledger entries and incidents are decrypted.
        events = [r for r in store.records_of_kind("substance") if isinstance(r, SubstanceEvent)]
        incidents = {
            r.vial_id or ""
            for r in store.records_of_kind("incident")
            if isinstance(r, Incident) and r.category == "ledger_discrepancy"
        }
        self._events, self._incident_vials = events, incidents

    def entries(self) -> list[SubstanceEvent]:
        """Every ledger entry, oldest first."""
        if self._events is None:
            self.load()
        assert self._events is not None
        return sorted(self._events, key=lambda e: e.at)

    def day(self, on: date | None = None) -> DayLedger:
        """The engine's reconciliation of the day (today unless given)."""
        events = [to_engine(e) for e in self.entries()]
        return evaluate_day(on or today(self.services.clock), events, engine.protocol())

    def vials(self) -> list[Vial]:
        """Today's vials, in the order they were first carried."""
        ledger = self.day()
        found: dict[str, Vial] = {}
        for entry in self.entries():
            status = ledger.vials.get(entry.vial_id)
            if status is None:
                continue
            found[entry.vial_id] = self._vial(entry, status)
        return list(found.values())

    def _vial(self, entry: SubstanceEvent, status: VialStatus) -> Vial:
        receipt = self._receipt(entry.vial_id)
        custody = [
            e.event
            for e in self.entries()
            if e.vial_id == entry.vial_id and e.event in ("checkout", "return")
        ]
        return Vial(
            vial=entry.vial_id,
            mg_per_ml=_dec(receipt.concentration_mg_per_ml if receipt else 0.0),
            fill_ml=_dec((receipt.fill_ml or 0.0) if receipt else 0.0),
            lot=receipt.lot if receipt else None,
            in_vial_ml=status.numbers.get("expected_in_vial_ml") or Decimal(0),
            carried=bool(custody) and custody[-1] == "checkout",
            locked=status.locked,
            status=status.status,
        )

    def _receipt(self, vial: str) -> SubstanceEvent | None:
        return next((e for e in self.entries() if e.vial_id == vial and e.event == "receipt"), None)

    def vial(self, vial: str) -> Vial:
        """One of today's vials, or `LedgerRefused`."""
        for found in self.vials():
            if found.vial == vial:
                return found
        raise LedgerRefused(f"Vial {vial} is not on today's ledger: carry it first.")

    def carried(self) -> list[Vial]:
        """Vials on the clinician now that may be drawn from (carried and not locked)."""
        return [v for v in self.vials() if v.carried and not v.locked]

    def vial_for_visit(self, visit_id: uuid.UUID) -> str | None:
        """The vial drawn for a visit's dose, if any."""
        draws = [e for e in self.entries() if e.event == "draw" and e.visit_id == visit_id]
        return draws[-1].vial_id if draws else None

    # -- writing -------------------------------------------------------------------------

    def _entry(
        self,
        event: str,
        vial: str,
        mg_per_ml: Decimal,
        mg: Decimal,
        ml: Decimal,
        session: VisitSession | None = None,
        **extra: Any,
    ) -> SubstanceEvent:
        now = self.services.clock.now()
        record = SubstanceEvent(
            id=uuid.uuid4(),
            patient_id=session.patient.id if session else None,
            visit_id=session.visit.id if session else None,
            recorded_at=now,
            recorded_by=self.services.user,
            event=event,  # type: ignore[arg-type]
            vial_id=vial,
            at=now,
            concentration_mg_per_ml=float(mg_per_ml),
            mg=float(mg),
            ml=float(ml),
            **extra,
        )
        self.services.store.save(record)
        if session is not None:
            session.records.append(record)
        self.entries()
        assert self._events is not None
        self._events.append(record)
        return record

    def _usable(self, vial: str) -> Vial:
        found = self.vial(vial)
        if found.locked:
            raise LedgerRefused(
                f"Vial {vial} is locked by a discrepancy: only a count or its return, "
                "and a supervisor's review."
            )
        return found

    def carry(self, vial: str, mg_per_ml: Decimal, fill_ml: Decimal, lot: str | None) -> None:
        """Take a vial out for the day (its receipt first, if this store never saw it)."""
        vial = vial.strip()
        if not vial:
            raise LedgerRefused("Name the vial (its label id).")
        if mg_per_ml <= 0 or fill_ml <= 0:
            raise LedgerRefused("A vial needs a strength and a fill volume above 0.")
        receipt = self._receipt(vial)
        if receipt is None:
            self._entry(
                "receipt",
                vial,
                mg_per_ml,
                mg_per_ml * fill_ml,
                fill_ml,
                fill_ml=float(fill_ml),
                lot=lot or None,
                note="received from base stock",
            )
        elif _dec(receipt.concentration_mg_per_ml) != mg_per_ml:
            raise LedgerRefused(
                f"Vial {vial} was received at {receipt.concentration_mg_per_ml:g} mg/mL, "
                f"not {mg_per_ml} mg/mL: check the label."
            )
        elif self.vials() and any(v.vial == vial and v.carried for v in self.vials()):
            raise LedgerRefused(f"Vial {vial} is already carried today.")
        self._entry("checkout", vial, mg_per_ml, Decimal(0), Decimal(0), fill_ml=float(fill_ml))

    def draw(self, session: VisitSession, vial: str, mg: Decimal) -> SubstanceEvent:
        """Draw a visit's dose from a carried vial (refused beyond what is in it)."""
        found = self._usable(vial)
        if not found.carried:
            raise LedgerRefused(f"Vial {vial} is not carried now: carry it on the ledger first.")
        ml = ml_of(mg, found.mg_per_ml)
        if ml > found.in_vial_ml:
            raise LedgerRefused(
                f"Vial {vial} holds {found.in_vial_ml:.2f} mL: not enough for {ml} mL."
            )
        return self._entry("draw", vial, found.mg_per_ml, mg, ml, session)

    def administer(self, session: VisitSession, vial: str, mg: Decimal) -> SubstanceEvent:
        """The dose actually given to the patient from a vial."""
        found = self.vial(vial)
        return self._entry(
            "administration", vial, found.mg_per_ml, mg, ml_of(mg, found.mg_per_ml), session
        )

    def waste(
        self, vial: str, ml: Decimal, witness: str, licensed: bool, method: str = "in_person"
    ) -> None:
        """Witnessed waste of `ml` of drawn or leftover drug (see `waste_mg`)."""
        found = self._usable(vial)
        self._waste(found, ml * found.mg_per_ml, ml, witness, licensed, method)

    def waste_mg(
        self, vial: str, mg: Decimal, witness: str, licensed: bool, method: str = "in_person"
    ) -> SubstanceEvent:
        """Witnessed waste of `mg` (as the clinician typed it), its mL worked out from the
        vial's strength; both are recorded. `licensed`: the witness holds a licence.

        Refused before anything is destroyed when the protocol wants a licensed witness and
        this one is not: the drug stays secured until one is present.
        """
        found = self._usable(vial)
        return self._waste(found, mg, ml_of(mg, found.mg_per_ml), witness, licensed, method)

    def _waste(
        self, found: Vial, mg: Decimal, ml: Decimal, witness: str, licensed: bool, method: str
    ) -> SubstanceEvent:
        need = engine.protocol().ledger.waste_witnesses
        if not witnesses_of(witness):
            raise LedgerRefused("Waste needs a witness: name the licensed witness present.")
        if len(set(witnesses_of(witness))) < need:
            raise LedgerRefused(
                f"The protocol asks for {need} witnesses to waste (ledger.waste_witnesses): "
                "name them separated by ';', or keep the drug secured until they are present."
            )
        if not licensed and engine.protocol().ledger.waste_witness_must_be_licensed:
            raise LedgerRefused(
                "The protocol asks for a licensed witness to waste "
                "(ledger.waste_witness_must_be_licensed): keep the drug secured and waste it "
                "when one is present, or return it."
            )
        self._positive(ml)
        session = self.services.current_visit
        record = self._entry(
            "waste",
            found.vial,
            found.mg_per_ml,
            mg,
            ml,
            session,
            witness=witness.strip(),
            witness_licensed=licensed,
            method=method,
        )
        self.open_incidents()
        return record

    def breakage(self, vial: str, ml: Decimal, witnesses: str, licensed: bool) -> None:
        """A broken or spilled vial: `ml` lost (see `breakage_mg`)."""
        found = self.vial(vial)
        self._breakage(found, ml * found.mg_per_ml, ml, witnesses, licensed)

    def breakage_mg(self, vial: str, mg: Decimal, witnesses: str, licensed: bool) -> SubstanceEvent:
        """A broken or spilled vial, `mg` lost as typed (mL from the vial's strength), with
        the witnesses the protocol asks for.

        Without them it is not a witnessed breakage but a loss the ledger cannot explain:
        the clinician counts the vial, the short count opens a discrepancy, and a
        supervisor's review records what happened.
        """
        found = self.vial(vial)
        return self._breakage(found, mg, ml_of(mg, found.mg_per_ml), witnesses, licensed)

    def _breakage(
        self, found: Vial, mg: Decimal, ml: Decimal, witnesses: str, licensed: bool
    ) -> SubstanceEvent:
        rules = engine.protocol().ledger
        need = rules.breakage_witnesses
        if len(set(witnesses_of(witnesses))) < need:
            raise LedgerRefused(f"Breakage needs {need} witnesses: name them separated by ';'.")
        if not licensed and rules.waste_witness_must_be_licensed:
            raise LedgerRefused(
                f"The protocol asks for {need} licensed witnesses to a breakage "
                "(ledger.waste_witness_must_be_licensed). Without them, count the vial: the "
                "short count opens a discrepancy, and a supervisor's review records what "
                "happened."
            )
        self._positive(ml)
        record = self._entry(
            "breakage",
            found.vial,
            found.mg_per_ml,
            mg,
            ml,
            witness=witnesses.strip(),
            witness_licensed=licensed,
            method="in_person",
        )
        self.open_incidents()
        return record

    def count(self, vial: str, measured_ml: Decimal) -> list[Incident]:
        """A physical count of what is in the vial; a short count opens an incident."""
        found = self.vial(vial)
        if measured_ml < 0:
            raise LedgerRefused("A count cannot be below 0 mL.")
        self._entry("count", vial, found.mg_per_ml, measured_ml * found.mg_per_ml, measured_ml)
        return self.open_incidents()

    def overage(self, vial: str, ml: Decimal, reason: str) -> None:
        """Measured excess (manufacturer overfill) recorded as an adjustment with its reason."""
        found = self.vial(vial)
        self._positive(ml)
        if not reason.strip():
            raise LedgerRefused("An overage needs its reason, e.g. manufacturer overfill.")
        self._entry("overage", vial, found.mg_per_ml, ml * found.mg_per_ml, ml, note=reason.strip())

    def give_back(self, vial: str) -> None:
        """Return a vial to the base at the end of the day."""
        found = self.vial(vial)
        if not found.carried:
            raise LedgerRefused(f"Vial {vial} is not carried: nothing to return.")
        self._entry("return", vial, found.mg_per_ml, Decimal(0), Decimal(0))

    @staticmethod
    def _positive(ml: Decimal) -> None:
        if ml <= 0:
            raise LedgerRefused("The amount must be more than 0 mL.")

    # -- discrepancies and the day's close -----------------------------------------------

    def open_incidents(self) -> list[Incident]:
        """Open one incident per vial the first time the engine finds a discrepancy."""
        opened = []
        for name, status in self.day().vials.items():
            if not status.incident_open or name in self._incident_vials:
                continue
            why = "; ".join(r.message for r in status.reasons if r.outcome == "discrepancy")
            now = self.services.clock.now()
            incident = Incident(
                id=uuid.uuid4(),
                patient_id=None,
                visit_id=None,
                recorded_at=now,
                recorded_by=self.services.user,
                category="ledger_discrepancy",
                severity="high",
                occurred_at=now,
                description=f"Ledger discrepancy. {why} The vial is locked: supervisor review.",
                vial_id=name,
            )
            self.services.store.save(incident)
            self._incident_vials.add(name)
            opened.append(incident)
        return opened

    def ruling_request(self, vial: str) -> PendingRequest:
        """The request for a supervisor's ruling on a vial's open discrepancy: the vial's
        reasons and numbers, nothing else (the same request while they stand)."""
        status = self.day().vials.get(vial)
        if status is None or not status.incident_open:
            raise LedgerRefused(f"Vial {vial} has no open discrepancy to resolve.")
        facts = ruling_facts(vial, status.reasons, status.numbers)
        held = self._rulings.get(vial)
        if held is None or held.request.facts != facts:
            held = self._rulings[vial] = new_request("supervisor_decision", facts, None)
        return held

    def resolve(self, vial: str, found: RequestPublic, pinned_key: str) -> SubstanceEvent:
        """The supervisor's signed ruling on a discrepancy: approve = not a significant
        loss, approve with a change = a significant loss, decline = count again.

        The vial's discrepancy stays on record; the ruling lets the day close, and a
        significant loss adds the DEA reporting duties (1 business day, Form 106 in 45).
        An answer that fails its checks raises `sync.approvals.AnswerRefused`.
        """
        pending = self._rulings.get(vial)
        status = self.day().vials.get(vial)
        if pending is None or status is None or not status.incident_open:
            raise LedgerRefused(f"Vial {vial} has no open discrepancy to resolve.")
        answer = pending.accept(found, pinned_key)
        if answer.decision == "decline":
            raise LedgerRefused(f"{answer.answered_by} did not rule on vial {vial}: {answer.note}")
        found_vial = self.vial(vial)
        record = self._entry(
            "resolution",
            vial,
            found_vial.mg_per_ml,
            Decimal(0),
            Decimal(0),
            witness=answer.answered_by,
            method="supervisor",
            note=answer.note,
            significant_loss=answer.decision == "modify",
            ruling=answer,
        )
        del self._rulings[vial]
        return record

    def close_day(self) -> DayLedger:
        """Close the day if every vial reconciles, and record the close for the clinic;
        otherwise refuse and say what is missing."""
        ledger = self.day()
        self.open_incidents()
        if not ledger.may_close:
            reasons = [r.message for r in ledger.reasons if r.outcome != "balanced"]
            raise LedgerRefused("The day cannot close: " + "; ".join(reasons[:4]) + ".")
        now = self.services.clock.now()
        self.services.store.save(
            DayClosure(
                id=uuid.uuid4(),
                recorded_at=now,
                recorded_by=self.services.user,
                day=ledger.day,
                closed_at=now,
                vials=[
                    ClosedVial(vial_id=name, status=vial.status)
                    for name, vial in sorted(ledger.vials.items())
                ],
                duties=[DutyDue(kind=duty.kind, due=duty.due) for duty in ledger.obligations],
            )
        )
        return ledger


def _ml(mg: Decimal, mg_per_ml: Decimal) -> Decimal:
    """mL for `mg` at a strength, to 4 places (the engine checks mg and mL agree)."""
    return (mg / mg_per_ml).quantize(Decimal("0.0001"))


RULING_QUESTION = (
    "A significant loss? Approve: not significant. Approve with change: a significant loss "
    "(DEA duties). Decline: count the vial again."
)


def ruling_facts(vial: str, reasons: Any, numbers: dict[str, Decimal | None]) -> Facts:
    """What a supervisor's ruling is asked on: the vial's reasons and its numbers."""
    rules = [
        RuleFact(
            rule_id=r.rule_id,
            outcome=str(r.outcome)[:20],
            measured=None if r.measured is None else str(r.measured)[:200],
            threshold=None if r.threshold is None else str(r.threshold)[:200],
            setting=None if r.setting is None else str(r.setting)[:200],
        )
        for r in reasons
    ][:50]
    values: dict[str, Any] = {"vial": vial}
    values.update({k: str(v) for k, v in sorted(numbers.items()) if v is not None})
    return Facts(rules=rules, values=dict(list(values.items())[:50]), question=RULING_QUESTION)
