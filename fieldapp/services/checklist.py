"""The pre-visit safety checklist: form items in, the engine's readiness decision out.

The form's items say where each answer goes in the engine's `ReadinessInput`; the rules
and their limits are all the engine's and the protocol file's. The patient's standing
history comes from the clinic's summary.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from fieldapp.clinical.actions import follow_ups
from fieldapp.clinical.checklists import (
    ChecklistResponse,
    ChecklistTemplate,
    apply_responses,
    load_templates,
)
from fieldapp.clinical.course import CourseInput
from fieldapp.clinical.readiness import ReadinessDecision, evaluate_readiness
from fieldapp.clinical.readiness_input import Approval, ReadinessInput
from fieldapp.clinical.record import RecordReading, lay_over, read_record
from fieldapp.clinical.vocabulary import normalise
from fieldapp.config import config_dir
from fieldapp.services import engine
from fieldapp.services.answers import Item, ItemKind, bounds_for, parse_answer
from fieldapp.services.approvals import NothingToApprove, PendingRequest, hold_facts, new_request
from fieldapp.services.followups import FollowUps
from fieldapp.services.shift import Answered, answered_before
from fieldapp.services.validation import Bounds
from fieldapp.services.verbal import CosignQueue, VerbalOrder, verbal_order
from fieldapp.services.visit import StepRefused, VisitSession
from sync.approvals import Answer, ApprovalRequestIn, RequestPublic
from sync.records import Approval as RecordApproval
from sync.records import (
    ChecklistSubmission,
    DoseAdministration,
    PatientSummary,
    RecoveryRecord,
)
from sync.records import Reason as RecordReason

# Questions no checklist template can ask: the template format has no list answer (the
# prescriber's DEA states, today's medications) and the readiness input has no weight or
# pain field (the dose step and the course read them from the checklist's answers).
EXTRA_ITEMS: tuple[Item, ...] = (
    Item(
        "weight_kg", "Weight today (kg)", "number", "weight", bounds=bounds_for("number", "weight")
    ),
    Item("pain_nrs", "Pain NRS now", "int", "pain_nrs", bounds=bounds_for("int", "pain_nrs")),
    Item(
        "prescriber_dea_states",
        "Prescriber DEA states",
        "list",
        "personnel.prescriber_dea_states",
        hint="WA, OR",
        scope="profile",
    ),
    Item(
        "medications_today",
        "Medications taken today",
        "list",
        "today.medications_today",
        required=False,
        hint="comma list, e.g. lorazepam",
    ),
)


FORM_TEMPLATES = ("equipment", "pre_visit_safety")


@lru_cache(maxsize=1)
def all_templates() -> dict[str, ChecklistTemplate]:
    """Every checklist template version (config/checklists), read once."""
    return load_templates(config_dir() / "checklists")


@lru_cache(maxsize=1)
def templates() -> dict[str, ChecklistTemplate]:
    """The newest version of each template the visit form asks, by `id@version`."""
    newest: dict[str, ChecklistTemplate] = {}
    for template in all_templates().values():
        if template.id in FORM_TEMPLATES and (
            template.id not in newest or template.version > newest[template.id].version
        ):
            newest[template.id] = template
    return {t.ref: t for t in newest.values()}


@lru_cache(maxsize=1)
def items() -> tuple[Item, ...]:
    """Every question of the form: each template's items, then the extra ones."""
    found: list[Item] = []
    for ref, template in sorted(templates().items()):
        for it in template.items:
            kind: ItemKind = it.type  # type: ignore[assignment]
            bounds = bounds_for(kind, it.maps_to)
            hint = {"bp": "128/82", "bool": "y/n", "date": "YYYY-MM-DD"}.get(it.type, "")
            if it.type == "choice":
                hint = " / ".join(it.options)
            elif bounds is not None and bounds != Bounds():
                hint = bounds.text()
            found.append(
                Item(
                    it.id,
                    it.text,
                    kind,
                    it.maps_to,
                    it.required,
                    hint,
                    tuple(it.options),
                    ref,
                    bounds,
                    it.scope,
                )
            )
    extras = [replace(i, hint=i.bounds.text()) if i.bounds else i for i in EXTRA_ITEMS]
    return (*found, *extras)


@lru_cache(maxsize=1)
def item_by_id() -> dict[str, Item]:
    """Form questions by id."""
    return {item.id: item for item in items()}


def medications_today(names: list[str]) -> tuple[list[str], list[str]]:
    """Medications typed as taken today: (generic names, those the vocabulary does not know)."""
    vocabulary, known, unknown = engine.vocabulary(), [], []
    for name in names:
        found = vocabulary.by_name("medication", normalise(name))
        if found is not None and found[0].drug and not found[1]:
            known.append(found[0].drug)
        else:
            unknown.append(f"medication taken today {name!r}: not in the vocabulary")
    return known, unknown


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class AnswersRefused(StepRefused):
    """The engine cannot take the answers as they stand; `item_ids` names the questions."""

    def __init__(self, item_ids: list[str]) -> None:
        self.item_ids = item_ids
        labels = [item_by_id()[i].label for i in item_ids if i in item_by_id()]
        named = "; ".join(labels) if labels else "an answer"
        super().__init__(f"The protocol engine cannot judge these answers: check {named}.")


def _items_at(loc: tuple[Any, ...]) -> list[str]:
    """The questions whose answers fill the engine input at `loc` (a validation error's)."""
    path = ".".join(str(part) for part in loc if isinstance(part, str))
    if not path:
        return []
    return [
        i.id
        for i in items()
        if i.path and (path == i.path or path.startswith(i.path + ".") or i.path.startswith(path))
    ]


class ChecklistRun:
    """The checklist of one visit: answers as typed, the live decision, the submission."""

    def __init__(self, session: VisitSession) -> None:
        self.session = session
        self.texts: dict[str, str] = {}
        # The remote approval asked for the holds, and its checked answer once it came. The
        # request is kept with the drafts: reopened later, the visit asks the clinic for
        # that same request (answered meanwhile, it comes back at once).
        self.pending: PendingRequest | None = self._kept_request()
        self.applied: Approval | None = None  # the approval the last decision applied
        self.verbal: VerbalOrder | None = None  # a telephone order taken for the holds
        self._record: RecordReading | None = None
        self._course_data: dict[str, Any] | None = None
        self.before: dict[str, Answered] = answered_before(session.services, items())
        """Answers given before the visit (clinic profile, start-of-shift check): not asked."""

    def asked(self) -> tuple[Item, ...]:
        """The questions this visit's checklist asks (those not answered before it)."""
        return tuple(item for item in items() if item.id not in self.before)

    def _value(self, item: Item) -> tuple[Any, str | None]:
        """The parsed answer to `item` (given before the visit, or as typed) and a problem."""
        if item.id in self.before:
            value = self.before[item.id].value
            if item.kind == "date" and isinstance(value, str):
                value = date.fromisoformat(value)
            return value, None
        return parse_answer(item, self.texts.get(item.id, ""))

    def record(self) -> RecordReading:
        """The patient's clinical record as the vocabulary reads it (each entry a finding)."""
        if self._record is None:
            self._record = read_record(self.session.patient, engine.vocabulary())
        return self._record

    def _course(self) -> dict[str, Any]:
        """The course so far (read once: it does not change while the form is typed)."""
        if self._course_data is None:
            self._course_data = _course(self.session).model_dump()
        return self._course_data

    def problems(self) -> dict[str, str]:
        """Every answer typed that does not parse, by item id."""
        found = {}
        for item in self.asked():
            text = self.texts.get(item.id, "")
            _, problem = parse_answer(item, text)
            if problem and text.strip():
                found[item.id] = problem
        return found

    def responses(self) -> dict[str, dict[str, Any]]:
        """The parsed answers per template ref (invalid or blank ones left out)."""
        by_template: dict[str, dict[str, Any]] = {ref: {} for ref in templates()}
        for item in items():
            if item.template is None:
                continue
            value, _ = self._value(item)
            if value is not None:
                by_template[item.template][item.id] = value
        return by_template

    def readiness_input(self) -> ReadinessInput:
        """The engine's input from the answers given so far (unanswered stays missing)."""
        s, patient = self.session, self.session.patient
        now = s.services.clock.now()
        record = self.record()
        base: dict[str, Any] = {
            "visit_at": now,
            "age_years": _age(patient.date_of_birth, now.date()),
            "sex": patient.sex if patient.sex in ("female", "male") else "female",
            "indication": _indication(patient),
            "history": {},
            "vitals": {},
            "today": {"medications": list(record.medications)},
            "personnel": {"visit_state": s.visit.address.state},
            "course": self._course(),
        }
        missing, review = [], record.review()
        for item in EXTRA_ITEMS:
            value, problem = self._value(item)
            if value is None:
                if problem and item.required:
                    missing.append(item.id)
                continue
            if item.id == "medications_today":
                value, unknown = medications_today(value)
                review += unknown
            if "." in item.path:
                section, key = item.path.split(".", 1)
                base[section][key] = value
        base["checklists"] = [{"template": "visit_extras", "missing": missing}]
        base["record_review"] = review
        responses = [
            ChecklistResponse(template=ref, answers=answers)
            for ref, answers in self.responses().items()
        ]
        data = apply_responses(base, responses, templates())
        try:
            return ReadinessInput.model_validate(lay_over(data, record.inputs))
        except ValidationError as exc:
            # Its text holds the values typed: keep only where they went.
            found = [item for error in exc.errors() for item in _items_at(error["loc"])]
            raise AnswersRefused(list(dict.fromkeys(found))) from None

    def decide(self) -> ReadinessDecision:
        """The engine's decision on the answers so far (`AnswerRefused` when it cannot),
        with the prescriber's signed approval applied while its facts still hold."""
        data = self.readiness_input()
        try:
            decision = evaluate_readiness(data, engine.protocol())
            approval = self.applied = self._approval(decision)
            if approval is not None:
                decision = evaluate_readiness(
                    data.model_copy(update={"approvals": [approval]}), engine.protocol()
                )
        except (ValueError, ArithmeticError):
            # A rule that cannot read an answer: never a crash, never the value in a message.
            raise AnswersRefused([]) from None
        return decision

    @property
    def answer(self) -> Answer | None:
        """The checked answer to this checklist's request, if one came."""
        return self.pending.answer if self.pending is not None else None

    def _approval(self, decision: ReadinessDecision) -> Approval | None:
        """The engine's approval from the signed answer (or the telephone order), if it
        releases these very holds."""
        facts = hold_facts(decision.reasons)
        answer = self.answer
        if facts is None:
            return None
        if answer is not None and answer.decision != "decline":
            if facts.digest() != answer.facts_hash:
                return None  # the answers changed since the request: ask again
            return Approval(
                prescriber=answer.answered_by,
                note=answer.note,
                approved_at=answer.answered_at,
                rule_ids=[rule.rule_id for rule in facts.rules],
            )
        verbal = self.verbal
        if verbal is not None and verbal.request.request.facts.rules == facts.rules:
            return Approval(
                prescriber=verbal.given_by,
                note=f"Telephone order, read back: {verbal.order}",
                approved_at=verbal.given_at,
                rule_ids=[rule.rule_id for rule in facts.rules],
            )
        return None

    def take_verbal_order(self, given_by: str, order: str, read_back: bool) -> ReadinessDecision:
        """Record a telephone order releasing the holds (the protocol must allow it for
        each of them); its co-sign request is queued for the next sync."""
        decision = self.decide()
        now = self.session.services.clock.now()
        self.verbal = verbal_order(
            decision.reasons,
            engine.protocol(),
            given_by,
            order,
            read_back,
            now,
            self.session.visit.id,
        )
        return self.decide()

    def approval_request(self) -> PendingRequest:
        """The request for a prescriber to release this decision's holds (the same one
        while the facts are unchanged), or `NothingToApprove`."""
        facts = hold_facts(self.decide().reasons)
        if facts is None:
            raise NothingToApprove("Nothing on hold here is for a prescriber to release.")
        if self.pending is None or self.pending.request.facts != facts:
            self.pending = new_request("readiness_hold", facts, self.session.visit.id)
            self.session.services.drafts.put(
                self._request_key, self.pending.request.model_dump(mode="json")
            )
        return self.pending

    @property
    def _request_key(self) -> str:
        return f"approval-request:{self.session.visit.id}"

    def _kept_request(self) -> PendingRequest | None:
        kept = self.session.services.drafts.get(self._request_key)
        if not kept:
            return None
        try:
            return PendingRequest(ApprovalRequestIn.model_validate(kept))
        except ValidationError:
            return None  # a draft from another build: ask anew

    def apply_answer(self, found: RequestPublic, pinned_key: str) -> ReadinessDecision:
        """Check the clinic's answer to this checklist's request and re-run the decision
        (`sync.approvals.AnswerRefused` when it must not count)."""
        if self.pending is None:
            raise NothingToApprove("No request was sent for this checklist.")
        self.pending.accept(found, pinned_key)
        return self.decide()

    def submit(self) -> list[ChecklistSubmission]:
        """Save one submission per template, each with the overall decision and reasons."""
        decision = self.decide()
        approval = None
        answer = self.answer
        if self.applied is not None and answer is not None and answer.decision != "decline":
            approval = RecordApproval(
                prescriber=answer.answered_by,
                note=answer.note,
                approved_at=answer.answered_at,
                answer=answer,
            )
        elif self.applied is not None and self.verbal is not None:
            approval = RecordApproval(
                prescriber=self.verbal.given_by,
                note=self.verbal.order,
                approved_at=self.verbal.given_at,
                read_back=True,
                cosign_request_id=self.verbal.request.id,
            )
            CosignQueue(self.session.services.drafts).add(self.verbal.request)
        extras = {i.id: self.texts[i.id] for i in EXTRA_ITEMS if self.texts.get(i.id, "").strip()}
        for item in EXTRA_ITEMS:  # answered before the visit: recorded as it was used
            if item.id in self.before:
                value = self.before[item.id].value
                extras[item.id] = ", ".join(value) if isinstance(value, list) else str(value)
        saved = []
        # The main template last: the visit's step reads the newest submission.
        for ref, answers in sorted(self.responses().items(), key=lambda kv: "pre_visit" in kv[0]):
            answers_json = {k: str(v) if isinstance(v, date) else v for k, v in answers.items()}
            if "pre_visit" in ref:
                answers_json.update(extras)
            record = self.session.new(
                ChecklistSubmission,
                template=ref,
                answers=answers_json,
                decision=decision.outcome,
                reasons=[to_record_reason(r) for r in decision.reasons],
                approval=approval,
            )
            self.session.save(record)
            saved.append(record)
        FollowUps(self.session).start(follow_ups(decision.reasons, engine.protocol()))
        self.session.services.drafts.discard(self._request_key)
        return saved

    def weight_kg(self) -> Decimal | None:
        """The weight measured today, for the dose step."""
        value, _ = parse_answer(item_by_id()["weight_kg"], self.texts.get("weight_kg", ""))
        return Decimal(str(value)) if value is not None else None


def to_record_reason(reason: Any) -> RecordReason:
    """The engine's reason as the record schema keeps it."""
    return RecordReason(
        rule_id=reason.rule_id,
        outcome=reason.outcome,
        message=reason.message[:1000],
        measured=reason.measured,
        threshold=reason.threshold,
        setting=reason.setting,
    )


def _indication(patient: PatientSummary) -> str:
    supported = engine.protocol().readiness.evidence_supported_indications
    for diagnosis in patient.diagnoses:
        if "crps" in supported and diagnosis.name.lower().startswith("crps"):
            return "crps"
    return patient.diagnoses[0].name.lower() if patient.diagnoses else "unknown"


def _previous_infusions(session: VisitSession) -> list[datetime]:
    """Earlier infusions: exact times given on this laptop, and the clinic's summary.

    The clinic's summary has dates only (taken as midday); an infusion given on this
    laptop and not yet in the summary still counts, at its real start time.
    """
    tz = session.services.clock.now().tzinfo
    local = [r.started_at for r in session.earlier if isinstance(r, DoseAdministration)]
    local_days = {t.astimezone(tz).date() for t in local}
    summary = [
        datetime.combine(p.on, time(12), tz)
        for p in session.patient.past_sessions
        if p.on not in local_days
    ]
    return sorted(summary + local)


def _pain_after(session: VisitSession) -> list[int]:
    """Pain NRS after each earlier infusion: the clinic's summary, then the departures
    scored on this laptop on days the summary does not list yet (one per visit)."""
    summary = session.patient.past_sessions
    days = {p.on for p in summary}
    tz = session.services.clock.now().tzinfo
    local: dict[Any, tuple[datetime, int]] = {}
    for r in session.earlier:
        if not isinstance(r, RecoveryRecord) or r.pain_nrs_after is None:
            continue
        if r.assessed_at.astimezone(tz).date() not in days:
            local[r.visit_id] = (r.assessed_at, r.pain_nrs_after)
    scored = [p.pain_nrs_after for p in summary if p.pain_nrs_after is not None]
    return scored + [nrs for _, nrs in sorted(local.values(), key=lambda pair: pair[0])]


def _course(session: VisitSession) -> CourseInput:
    patient = session.patient
    infusions = _previous_infusions(session)
    return CourseInput(
        previous_infusions=infusions,
        nrs_baseline=patient.baseline_pain_nrs,
        nrs_after=_pain_after(session),
        # Every infusion so far was at the patient's home, the address of this visit.
        visits_at_address=sorted({at.date() for at in infusions}),
    )
