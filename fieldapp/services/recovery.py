"""Recovery and the session note: departure judged by the engine, then a signed SOAP note.

The note's draft lives encrypted in the store as it is typed; the first draft is written
from what was recorded in the visit. Signing stores it as an immutable record; after
that the only change is an addendum.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fieldapp.clinical.escalation import recovered
from fieldapp.clinical.recovery import RecoveryDecision, RecoveryInput, evaluate_recovery
from fieldapp.clinical.scales import nrs_change
from fieldapp.services import engine
from fieldapp.services.followups import DONE_BY_RECOVERY, FollowUps, as_reading
from fieldapp.services.visit import StepRefused, VisitSession
from sync.records import (
    Addendum,
    ChecklistSubmission,
    DoseAdministration,
    DoseOrder,
    RecoveryRecord,
    SessionNote,
    VitalsReading,
)

SOAP = ("subjective", "objective", "assessment", "plan")


def _vitals_map(v: VitalsReading | None) -> dict[str, float]:
    if v is None:
        return {}
    pairs = {
        "systolic": v.systolic_mmhg,
        "diastolic": v.diastolic_mmhg,
        "heart_rate": v.heart_rate_bpm,
    }
    return {k: float(x) for k, x in pairs.items() if x is not None}


def _baseline(session: VisitSession) -> dict[str, float]:
    """Pre-infusion vitals from the checklist answers (second BP reading, heart rate)."""
    checklist = session.last(ChecklistSubmission)
    if checklist is None:
        return {}
    answers = checklist.answers
    out: dict[str, float] = {}
    bp = str(answers.get("bp_second") or answers.get("bp_first") or "")
    if "/" in bp:
        sys_, dia = bp.split("/", 1)
        out["systolic"], out["diastolic"] = float(sys_), float(dia)
    if answers.get("heart_rate"):
        out["heart_rate"] = float(str(answers["heart_rate"]))
    return out


class Recovery:
    """Recovery of one visit: observation time, scores, criteria, the decision."""

    def __init__(self, session: VisitSession) -> None:
        self.session = session

    def minutes_since_end(self) -> Decimal:
        """Minutes observed since the infusion ended."""
        ended = self.session.status_at("infusion_ended")
        if ended is None:
            return Decimal(0)
        return Decimal(int((self.session.services.clock.now() - ended).total_seconds())) / 60

    def _observation_minutes(self) -> int:
        r = engine.protocol().recovery
        return int(
            r.min_observation_first_minutes
            if self.session.first_infusion
            else r.min_observation_later_minutes
        )

    def observation_left_min(self) -> Decimal:
        """Minutes of the minimum observation still to go (0 when done)."""
        return max(Decimal(0), Decimal(self._observation_minutes()) - self.minutes_since_end())

    def observation_until(self) -> datetime | None:
        """When the minimum observation is over (None before the infusion ends)."""
        ended = self.session.status_at("infusion_ended")
        if ended is None:
            return None
        return ended + timedelta(minutes=self._observation_minutes())

    def next_vitals_due(self) -> datetime | None:
        """When the next recovery BP is due: the protocol's interval after the last one."""
        ended = self.session.status_at("infusion_ended")
        if ended is None:
            return None
        taken = [v.taken_at for v in self.session.vitals("post")]
        every = engine.protocol().monitoring.vitals_interval_minutes.nibp_after
        return max([ended, *taken]) + timedelta(minutes=float(every))

    def pain_before(self) -> int | None:
        """Today's pain NRS before the infusion (from the checklist), if scored."""
        value = self.session.last_checklist_answers().get("pain_nrs")
        try:
            return int(str(value).strip()) if value is not None else None
        except ValueError:
            return None

    def pain_change(self, after: int) -> str | None:
        """The pain now against the course's baseline NRS, as the response bands read it
        (None without a baseline on file)."""
        baseline = self.session.patient.baseline_pain_nrs
        if baseline is None:
            return None
        change = nrs_change(baseline, after, engine.protocol().scales.nrs)
        if change.pct_change is None:
            return f"the course baseline is {baseline}: no percentage"
        pct = change.pct_change
        direction = "below" if pct >= 0 else "above"
        return f"{abs(pct):.0f}% {direction} the course baseline {baseline} ({change.responder})"

    def decide(self, answers: dict[str, Any]) -> RecoveryDecision:
        """The engine's departure decision on the answers so far."""
        current = {
            k: float(answers[k]) for k in ("systolic", "diastolic", "heart_rate") if answers.get(k)
        }
        data = RecoveryInput(
            minutes_since_end=self.minutes_since_end(),
            first_infusion=self.session.first_infusion,
            aldrete_total=answers.get("aldrete"),
            padss_totals=[answers["padss"]] if answers.get("padss") is not None else [],
            baseline=_baseline(self.session) if current else {},
            current=current,
            nausea=answers.get("nausea") or "none",
            oriented_x3=bool(answers.get("oriented_x3")),
            gait_steady=bool(answers.get("gait_steady")),
            responsible_adult=bool(answers.get("responsible_adult")),
            written_instructions=bool(answers.get("written_instructions")),
            next_day_call=bool(answers.get("next_day_call")),
            fall_risk_handover=bool(answers.get("fall_risk_handover")),
        )
        return evaluate_recovery(data, engine.protocol())

    def record(self, answers: dict[str, Any]) -> tuple[RecoveryRecord, RecoveryDecision]:
        """Save the assessment and the decision (a not-cleared one too: it is a fact)."""
        decision = self.decide(answers)
        now = self.session.services.clock.now()
        cleared = decision.outcome == "cleared"
        self.record_vitals(answers)
        record = self.session.new(
            RecoveryRecord,
            assessed_at=now,
            aldrete=answers.get("aldrete") or 0,
            padss=answers.get("padss") or 0,
            pain_nrs_after=answers.get("pain_nrs_after"),
            oriented_x3=bool(answers.get("oriented_x3")),
            gait_steady=bool(answers.get("gait_steady")),
            responsible_adult=answers.get("responsible_adult_name") or None,
            decision=decision.outcome,
            missing=[m[:200] for m in decision.missing],
            next_day_call_on=(now + timedelta(days=1)).date() if cleared else None,
        )
        self.session.save(record)
        tasks = FollowUps(self.session)
        tasks.complete_actions(DONE_BY_RECOVERY, "recovery assessed")
        if not cleared:
            tasks.rescore_after_not_cleared()
        return record, decision

    def record_vitals(self, answers: dict[str, Any]) -> VitalsReading | None:
        """Save the vitals of an assessment (or a recheck after a stop), judged against
        the monitoring limits: back within them all is "continue", the recovery a stopped
        infusion's escalation timer waits for."""
        fields = {
            "systolic_mmhg": answers.get("systolic"),
            "diastolic_mmhg": answers.get("diastolic"),
            "heart_rate_bpm": answers.get("heart_rate"),
            "spo2_pct": answers.get("spo2"),
            "rass": answers.get("rass"),
        }
        if all(value is None for value in fields.values()):
            return None
        draft = self.session.new(
            VitalsReading, phase="post", taken_at=self.session.services.clock.now(), **fields
        )
        back = recovered(as_reading(draft), engine.protocol())
        reading = draft.model_copy(update={"judgement": "continue" if back else "pause"})
        self.session.save(reading)
        FollowUps(self.session).complete_actions(("post_stop_recheck",), "vitals rechecked")
        return reading


class Note:
    """The SOAP note of one visit."""

    def __init__(self, session: VisitSession) -> None:
        self.session = session
        self.key = session.draft_key("note")

    @property
    def signed(self) -> SessionNote | None:
        """The signed note, once signed."""
        note = self.session.last(SessionNote)
        return note if note is not None and note.status == "signed" else None

    def prefill(self) -> dict[str, str]:
        """A first draft written from what was recorded in this visit."""
        s = self.session
        checklist = s.last(ChecklistSubmission)
        order = s.last(DoseOrder)
        admin = s.last(DoseAdministration)
        recovery = s.last(RecoveryRecord)
        during = s.vitals("during")
        subjective = (
            f"Infusion {s.visit.course} for {', '.join(d.name for d in s.patient.diagnoses)}."
        )
        if checklist is not None and checklist.answers.get("pain_nrs"):
            subjective += f" Pain NRS before: {checklist.answers['pain_nrs']}."
        if recovery is not None and recovery.pain_nrs_after is not None:
            subjective += f" Pain NRS after: {recovery.pain_nrs_after}."
        objective = []
        if checklist is not None:
            a = checklist.answers
            objective.append(
                f"Pre-infusion BP {a.get('bp_second', '?')}, "
                f"HR {a.get('heart_rate', '?')}, SpO₂ {a.get('spo2', '?')} %."
            )
        if during:
            peak = max(during, key=lambda v: v.systolic_mmhg or 0)
            objective.append(
                f"{len(during)} readings during the infusion; highest BP "
                f"{peak.systolic_mmhg}/{peak.diastolic_mmhg}."
            )
        if recovery is not None:
            objective.append(f"Recovery: Aldrete {recovery.aldrete}, PADSS {recovery.padss}.")
        assessment = f"Readiness: {checklist.decision}." if checklist is not None else ""
        if checklist is not None and checklist.approval is not None:
            assessment += f" Hold approved by {checklist.approval.prescriber}."
        if order is not None and admin is not None:
            assessment += (
                f" Given {admin.dose_mg:g} mg of {order.dose_mg:g} mg ordered"
                + (f"; stopped early: {admin.stop_reason}" if admin.stopped_early else "")
                + "."
            )
        plan = (
            "Next-day phone call."
            if recovery is not None and recovery.decision == "cleared"
            else ""
        )
        return {
            "subjective": subjective,
            "objective": " ".join(objective),
            "assessment": assessment.strip(),
            "plan": plan,
        }

    def draft(self) -> dict[str, str]:
        """The saved draft, or a fresh prefilled one."""
        saved = self.session.services.drafts.get(self.key)
        return {k: str(saved.get(k, "")) for k in SOAP} if saved else self.prefill()

    def save_draft(self, fields: dict[str, str]) -> None:
        """Keep the draft (encrypted) as typed."""
        self.session.services.drafts.put(self.key, fields)

    def check_signable(self, fields: dict[str, str]) -> None:
        """Refuse (`StepRefused`) a note that cannot be signed, before anyone is asked to
        prove who they are for it."""
        if self.signed is not None:
            raise StepRefused("The note is already signed: add an addendum instead.")
        if not any(fields.get(k, "").strip() for k in SOAP):
            raise StepRefused("The note is empty: write at least one section before signing.")

    def sign(self, fields: dict[str, str]) -> SessionNote:
        """Sign the note: from now on it never changes. The screen asks for the PIN or
        passphrase first (`ReauthDialog`); the service signs as the enrolled clinician."""
        self.check_signable(fields)
        now = self.session.services.clock.now()
        note = self.session.new(
            SessionNote,
            status="signed",
            signed_at=now,
            signed_by=self.session.services.user,
            **{k: fields.get(k, "") for k in SOAP},
        )
        store = self.session.services.store
        self.session.services.drafts.flush()
        store.sign_note(note, draft_key=self.key)  # type: ignore[attr-defined]
        self.session.services.drafts.discard(self.key)
        signed = store.get("note", note.id)  # as stored: with this clinician's signature
        assert isinstance(signed, SessionNote)
        self.session.records.append(signed)
        return signed

    def amend(self, text: str) -> Addendum:
        """Add an addendum to the signed note."""
        signed = self.signed
        if signed is None:
            raise StepRefused("Sign the note first; until then, edit the draft.")
        if not text.strip():
            raise StepRefused("The addendum is empty.")
        addendum = self.session.new(Addendum, note_id=signed.id, text=text.strip())
        self.session.save(addendum)
        return addendum
