"""Visit cases: a whole visit driven through the services the screens call.

A case of kind `visit` gives a patient (and their clinical record), the checklist answers
as typed, a dose order, a timed sequence of readings and recovery assessments, ledger
steps, and what must come out: decisions, follow-up tasks, overdue timers, saved records.
It runs against a real encrypted store (one per run, in a temporary folder) on a clock the
case moves, so it proves the app decides right, not only the engine.

Recognised tables: [case.patient] (with [case.patient.record]), [case.checklist] (answers
as typed; `approve = { prescriber, note }`), [case.dose] (`confirm_weight = true`),
[[case.readings]] (`minute` after the start, then the monitor's fields), `end_minute`,
[[case.recovery]] (`minute` after the end; `vitals_only = true` for a recheck after a
stop), `sweep_minutes` (times after the end the timers are looked at), [[case.ledger]]
(`do` = waste, breakage, count, overage, return, resolve), `lone_worker_minutes` (after
the planned check-out). Expect: checklist, dose, sequence, recovery, vial, lone_worker,
step, reasons, absent, tasks, overdue, done, order (the saved order's numbers), given_mg,
review, records, error.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fieldapp.clinical.cases import CaseResult
from fieldapp.clinical.protocol import protocol_from_data
from fieldapp.config import deep_merge
from fieldapp.errors import FieldAppError
from fieldapp.services import case_visit, engine
from fieldapp.services.approvals import NothingToApprove, SimulatedClinic
from fieldapp.services.checklist import ChecklistRun
from fieldapp.services.clock import ManualClock
from fieldapp.services.context import AppServices
from fieldapp.services.followups import FollowUps
from fieldapp.services.infusion import (
    Infusion,
    cap_override_request,
    compute,
    confirm_dose,
    prepared,
    with_cap_override,
)
from fieldapp.services.recovery import Recovery
from fieldapp.services.visit import VisitSession
from fieldapp.settings import Settings
from sync.records import DoseAdministration, DoseOrder

ZONE = ZoneInfo("America/Los_Angeles")
DEFAULT_AT = datetime(2026, 3, 10, 9, 0, tzinfo=ZONE)
PASSPHRASE = "visit cases, synthetic data only"  # noqa: S105 (a throwaway store)
EXPECT_KEYS = {
    "checklist",
    "dose",
    "sequence",
    "recovery",
    "vial",
    "lone_worker",
    "step",
    "reasons",
    "absent",
    "tasks",
    "overdue",
    "done",
    "order",
    "given_mg",
    "review",
    "records",
    "error",
}


@dataclass
class Outcome:
    """What happened in one visit, to compare with the case's expectation."""

    values: dict[str, Any] = field(default_factory=dict)
    fired: list[str] = field(default_factory=list)
    settings: dict[str, set[str]] = field(default_factory=dict)

    def saw(self, reasons: Any) -> None:
        """Note every rule a decision fired, and the setting behind it."""
        for reason in reasons:
            self.fired.append(reason.rule_id)
            named = self.settings.setdefault(reason.rule_id, set())
            if reason.setting:
                named.add(reason.setting)


class VisitCaseRunner:
    """Runs visit cases in one throwaway encrypted store (call `close` when done)."""

    def __init__(self, base: dict[str, Any]) -> None:
        from fieldapp.store.store import Store

        self.base = base
        self._folder = tempfile.TemporaryDirectory(prefix="fieldapp-cases-")
        self.clock = ManualClock(DEFAULT_AT)
        settings = Settings.model_validate(
            {
                "store": {
                    "user": case_visit.CLINICIAN,
                    "path": str(Path(self._folder.name) / "cases.store"),
                    "kdf_memory_kib": 19456,
                    "kdf_iterations": 2,
                    "kdf_lanes": 1,
                    "auto_lock_minutes": 15,
                }
            }
        )
        store = Store.create(
            settings.store.resolved_path(),
            PASSPHRASE,
            settings.store,
            clock=lambda: self.clock.now().timestamp(),
        )
        self.services = AppServices(store, settings, clock=self.clock)
        store.enrol_checker(case_visit.CASE_CHECKER, case_visit.CASE_CHECKER_PIN)
        self.count = 0

    def close(self) -> None:
        """Close the store and delete the folder."""
        self.services.store.close()  # type: ignore[attr-defined]
        self._folder.cleanup()

    def _start_at(self, at: datetime) -> None:
        """Each case starts on its own clock: unlock afresh (the store's re-entry timer)."""
        store = self.services.store
        self.clock.set(at)
        store.lock()
        store.unlock(PASSPHRASE)
        self.services.unlocked_at = at
        self.services.note_activity()

    def advance_to(self, when: datetime) -> None:
        """Move the clock forward a minute at a time, the clinician at work (no idle lock)."""
        while self.clock.now() < when:
            self.clock.set(min(when, self.clock.now() + timedelta(minutes=1)))
            self.services.note_activity()

    def run(self, case: dict[str, Any], defaults: dict[str, Any], source: str) -> CaseResult:
        """Run one visit case and compare what happened with `expect`."""
        name = str(case.get("name", "(unnamed)"))
        head = {"file": source, "name": name, "kind": "visit"}
        expect = case.get("expect")
        if not isinstance(expect, dict) or not expect:
            return CaseResult(**head, passed=False, problems=["[case.expect] is missing"])
        unknown = sorted(set(expect) - EXPECT_KEYS)
        if unknown:
            return CaseResult(**head, passed=False, problems=[f"expect: unknown {unknown}"])
        data = deep_merge(defaults.get("visit", {}), case)
        self.count += 1
        try:
            protocol = protocol_from_data(deep_merge(self.base, data.get("settings", {})), source)
            with engine.using_protocol(protocol):
                got = self._visit(data)
        except (FieldAppError, ValueError, KeyError, TypeError) as exc:
            problem = str(exc).splitlines()[0]
            wanted = expect.get("error")
            passed = wanted is not None and str(wanted).lower() in problem.lower()
            return CaseResult(**head, passed=passed, problems=[] if passed else [problem])
        if "error" in expect:
            return CaseResult(**head, passed=False, problems=["expected an error, got none"])
        problems = compare(expect, got)
        return CaseResult(
            **head,
            passed=not problems,
            problems=problems,
            reasons=sorted(set(got.fired)),
            settings_used=sorted({s for named in got.settings.values() for s in named}),
            rule_settings={rule: sorted(named) for rule, named in got.settings.items()},
        )

    # -- the visit, step by step ---------------------------------------------------------

    def _visit(self, data: dict[str, Any]) -> Outcome:
        at = _when(data.get("visit_at")) or DEFAULT_AT
        self._start_at(at)
        person = case_visit.patient(data.get("patient", {}), at.date())
        planned = case_visit.visit(person.id, at)
        self.services.store.put_server_records([person, planned])
        session = VisitSession.load(self.services, planned.id)
        session.en_route()
        # Every case is its own visit on one store: an earlier case left open (stopped at
        # its checklist) is no second patient, so each check-in states that.
        session.arrive(None, None, attested=True, second_reason=CASE_REASON)
        out = Outcome()
        if self._checklist(session, data, out) and "dose" in data:
            vial = self._dose(session, data, out)
            if vial is not None:
                end = self._infusion(session, data, out)
                self._recovery(session, data, end, out)
                self._ledger(vial, data, out)
        self._lone_worker(session, data, at, out)
        tasks = FollowUps(session)
        out.fired += [t.rule_id for t in tasks.tasks()]
        order, given = session.last(DoseOrder), session.last(DoseAdministration)
        out.values["order"] = order.model_dump() if order is not None else {}
        out.values["given_mg"] = given.dose_mg if given is not None else None
        stored = self.services.store.visit_records(planned.id)
        kinds = [r.KIND for r in stored if r.KIND != "visit"]
        out.values.update(
            step=session.step,
            tasks=[t.action for t in tasks.tasks()],
            overdue=[t.action for t in tasks.tasks() if "overdue" in tasks.status(t)],
            done=[t.action for t in tasks.tasks() if "done" in tasks.status(t)],
            records={kind: kinds.count(kind) for kind in sorted(set(kinds))},
        )
        return out

    def _checklist(self, session: VisitSession, data: dict[str, Any], out: Outcome) -> bool:
        answers = dict(data.get("checklist", {}))
        approval = answers.pop("approve", None)
        run = ChecklistRun(session)
        run.texts = case_visit.checklist(self.clock.now().date(), answers)
        out.values["review"] = run.record().review()
        if approval is not None:
            # The case plays the clinic and the prescriber: a real signed answer. A hold no
            # prescriber may release stays (there is nothing to ask for).
            with contextlib.suppress(NothingToApprove):
                SimulatedClinic().release(run, str(approval["prescriber"]), str(approval["note"]))
        decision = run.decide()
        out.saw(decision.reasons)
        out.values["review"] += [
            r.message for r in decision.reasons if r.rule_id.startswith("record")
        ]
        out.values["checklist"] = decision.outcome
        if decision.outcome == "hold":
            return False
        run.submit()
        if decision.outcome in ("hard_stop", "emergency"):
            session.decline("Hard stop at the safety checklist")
            return False
        return True

    def _dose(self, session: VisitSession, data: dict[str, Any], out: Outcome) -> str | None:
        form, typed = case_visit.dose_form(data.get("dose", {}))
        if form.session_override_by:  # the case plays the prescriber: a signed override
            clinic, by = SimulatedClinic(), form.session_override_by
            plain = replace(form, session_override_by=None)
            pending = cap_override_request(session, plain)
            found = clinic.answer(pending, "approve", "Override approved.", by, self.clock.now())
            form = with_cap_override(plain, pending, found, clinic.pinned_key)
        vial = f"CASE-{self.count:03d}"
        fill = Decimal(typed.get("carry_ml", typed["vial_ml"]))
        self.services.ledger.carry(vial, form.vial_mg_per_ml, fill, "LOT-CASE")
        result = compute(prepared(form, session))
        out.saw(result.reasons)
        out.values["dose"] = result.outcome
        if result.outcome == "refused":
            return None
        confirm_dose(session, form, result, typed["checker"], vial, case_visit.CASE_CHECKER_PIN)
        return vial

    def _infusion(self, session: VisitSession, data: dict[str, Any], out: Outcome) -> datetime:
        self.advance_to(self.clock.now() + timedelta(minutes=5))
        infusion = Infusion(session)
        infusion.start()
        start = self.clock.now()
        sequence = []
        for reading in data.get("readings", []):
            values = dict(reading)
            self.advance_to(start + timedelta(minutes=float(values.pop("minute"))))
            FollowUps(session).sweep()
            _, decision = infusion.record(values)
            out.saw(decision.reasons)
            sequence.append(decision.action)
            if infusion.ended:
                break
        out.values["sequence"] = sequence
        if not infusion.ended:
            minutes = data.get("end_minute", infusion.order.duration_min or 40)
            self.advance_to(start + timedelta(minutes=float(minutes)))
            FollowUps(session).sweep()
            infusion.end()
        ended = session.status_at("infusion_ended")
        assert ended is not None
        return ended

    def _recovery(
        self, session: VisitSession, data: dict[str, Any], end: datetime, out: Outcome
    ) -> None:
        recovery, outcomes = Recovery(session), list[str]()
        steps: list[tuple[float, dict[str, Any] | None]] = [
            (float(m), None) for m in data.get("sweep_minutes", [])
        ]
        steps += [(float(s["minute"]), s) for s in data.get("recovery", [])]
        for minute, step in sorted(steps, key=lambda pair: pair[0]):
            self.advance_to(end + timedelta(minutes=minute))
            FollowUps(session).sweep()
            if step is None:
                continue
            answers = {**RECOVERED, **{k: v for k, v in step.items() if k != "minute"}}
            if answers.pop("vitals_only", False):
                recovery.record_vitals(answers)
                continue
            _, decision = recovery.record(answers)
            out.saw(decision.reasons)
            outcomes.append(decision.outcome)
        out.values["recovery"] = outcomes

    def _ledger(self, vial: str, data: dict[str, Any], out: Outcome) -> None:
        book = self.services.ledger
        for step in data.get("ledger", []):
            do = step["do"]
            ml = Decimal(str(step.get("ml", 0)))
            if do == "waste":
                book.waste(vial, ml, step.get("witness", ""), bool(step.get("licensed", True)))
            elif do == "breakage":
                book.breakage(vial, ml, step.get("witness", ""), bool(step.get("licensed", True)))
            elif do == "count":
                book.count(vial, Decimal(str(step["measured_ml"])))
            elif do == "overage":
                book.overage(vial, ml, step.get("reason", ""))
            elif do == "return":
                book.give_back(vial)
            elif do == "resolve":
                SimulatedClinic().rule(  # the case plays the supervisor: a signed ruling
                    book,
                    vial,
                    "Supervisor Case",
                    step["reason"],
                    bool(step["significant"]),
                    self.clock.now(),
                )
            else:
                raise ValueError(f"ledger.do: unknown step {do!r}")
        status = book.day(self.clock.now().date()).vials.get(vial)
        if status is not None:
            out.values["vial"] = status.status
            out.saw(status.reasons)

    def _lone_worker(
        self, session: VisitSession, data: dict[str, Any], at: datetime, out: Outcome
    ) -> None:
        if "lone_worker_minutes" not in data:
            return
        planned_end = at + timedelta(minutes=session.visit.duration_min)
        self.advance_to(planned_end + timedelta(minutes=float(data["lone_worker_minutes"])))
        state = self.services.lone_worker.state()
        out.values["lone_worker"] = state.step_id or "none"
        if state.step_id:
            out.fired.append(f"lone_worker_{state.step_id}")


# How far a saved order's number may be from the case's (its rounding to 0.01).
NUMBER_TOLERANCE = 0.05
CASE_REASON = "visit case: each case is a separate visit"
RECOVERED = {
    "aldrete": 10,
    "padss": 10,
    "systolic": 126,
    "diastolic": 80,
    "heart_rate": 76,
    "nausea": "none",
    "oriented_x3": True,
    "gait_steady": True,
    "responsible_adult": True,
    "responsible_adult_name": "partner",
    "written_instructions": True,
    "next_day_call": True,
    "fall_risk_handover": True,
}


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=ZONE)


def compare(expect: dict[str, Any], got: Outcome) -> list[str]:
    """Every way the visit differed from what the case expects (empty: it passed)."""
    problems = []
    for key in ("checklist", "dose", "vial", "lone_worker", "step"):
        if key in expect and got.values.get(key) != expect[key]:
            problems.append(f"{key}: expected {expect[key]}, got {got.values.get(key)}")
    for key in ("sequence", "recovery"):
        if key in expect and list(expect[key]) != got.values.get(key, []):
            problems.append(f"{key}: expected {expect[key]}, got {got.values.get(key, [])}")
    for rule in expect.get("reasons", []):
        if rule not in got.fired:
            problems.append(f"reasons: expected {rule} among {sorted(set(got.fired))}")
    for rule in expect.get("absent", []):
        if rule in got.fired:
            problems.append(f"reasons: {rule} should not fire")
    for key in ("tasks", "overdue", "done"):
        for action in expect.get(key, []):
            if action not in got.values.get(key, []):
                problems.append(f"{key}: expected {action} among {got.values.get(key, [])}")
    for text in expect.get("review", []):
        if not any(text.lower() in entry.lower() for entry in got.values.get("review", [])):
            problems.append(f"review: nothing held mentions {text!r}")
    for key, wanted in expect.get("order", {}).items():
        actual = got.values["order"].get(key)
        if actual is None or abs(float(actual) - float(wanted)) > NUMBER_TOLERANCE:
            problems.append(f"order.{key}: expected {wanted}, got {actual}")
    if "given_mg" in expect and got.values.get("given_mg") != expect["given_mg"]:
        problems.append(
            f"given_mg: expected {expect['given_mg']}, got {got.values.get('given_mg')}"
        )
    for kind, count in expect.get("records", {}).items():
        if got.values["records"].get(kind, 0) != count:
            problems.append(
                f"records.{kind}: expected {count}, got {got.values['records'].get(kind, 0)}"
            )
    return problems
