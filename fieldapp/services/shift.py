"""The start-of-shift check: the clinician's credentials from the clinic, the kit once.

Credentials (ACLS, licence, the prescriber's DEA states) come from the clinic's clinician
profile, pulled with the day's visits; each shows as current, expiring soon (within
`shift.credential_warn_days`, a clinic choice) or expired/missing, which blocks the
infusion by the protocol's own rules (`protocol.personnel`). The checklist items of scope
"shift" (the kit, the vehicle, the stock) are answered once, in a `ShiftCheck` record;
each visit's checklist then takes the profile's and the shift's answers, shows them as
answered (by whom, when) and no longer asks them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from fieldapp.clinical.checklists import PROFILE_ANSWERS
from fieldapp.services import engine
from fieldapp.services.answers import Item, parse_answer
from fieldapp.services.clock import today
from fieldapp.services.today import todays_check
from fieldapp.services.visit import StepRefused
from sync.records import ClinicianProfile, ShiftCheck

if TYPE_CHECKING:
    from fieldapp.services.context import AppServices

State = Literal["ok", "warn", "blocked"]


@dataclass(frozen=True)
class Credential:
    """One credential as the shift check shows it."""

    label: str
    value: str
    state: State
    note: str


@dataclass(frozen=True)
class Answered:
    """A checklist answer given before the visit: its value, who gave it and when."""

    value: Any
    by: str
    at: datetime
    source: Literal["profile", "shift"]

    def shown(self) -> str:
        """The answer as the checklist shows it: `yes`, `2027-01-31`, `WA, OR`."""
        value = self.value
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, list):
            return ", ".join(str(v) for v in value) or "none"
        return "not set" if value is None else str(value)

    def source_line(self) -> str:
        """Where the answer came from, who gave it and when."""
        where = "Clinic profile" if self.source == "profile" else "Start-of-shift check"
        return f"{where}, {self.by}, {self.at:%Y-%m-%d %H:%M}"


def profile(services: AppServices) -> ClinicianProfile | None:
    """This clinician's profile as last pulled from the clinic (None: none yet)."""
    found = [
        r
        for r in services.store.records_of_kind(ClinicianProfile.KIND)
        if isinstance(r, ClinicianProfile) and r.clinician_id == services.user
    ]
    return max(found, key=lambda r: r.version) if found else None


def credentials(
    found: ClinicianProfile | None, on: date, warn_days: int, visit_states: list[str]
) -> list[Credential]:
    """Each credential the protocol asks for, with its state on day `on`."""
    rules = engine.protocol().personnel
    if found is None:
        note = "No profile from the clinic yet: sync, or answer it on each visit's checklist."
        return [Credential("Credentials", "not received", "warn", note)]
    out: list[Credential] = []
    if rules.require_acls:
        out.append(_expiry("ACLS", found.acls_expires, on, warn_days, "require_acls"))
    if rules.require_licence:
        if not found.licence_active:
            out.append(
                Credential(
                    "Licence",
                    "not active",
                    "blocked",
                    "Infusions are blocked (protocol.personnel.require_licence).",
                )
            )
        elif found.licence_expires is None:
            out.append(Credential("Licence", "active, no expiry", "ok", ""))
        else:
            out.append(_expiry("Licence", found.licence_expires, on, warn_days, "require_licence"))
    if rules.require_prescriber_dea_in_state:
        states = found.prescriber_dea_states
        outside = sorted({s for s in visit_states if s not in states})
        who = found.prescriber or "the prescriber"
        value = f"{', '.join(states) or 'none'} ({who})"
        if outside:
            out.append(
                Credential(
                    "Prescriber DEA",
                    value,
                    "blocked",
                    f"Today's visits in {', '.join(outside)} are blocked "
                    "(protocol.personnel.require_prescriber_dea_in_state).",
                )
            )
        else:
            out.append(Credential("Prescriber DEA", value, "ok", ""))
    return out


def _expiry(label: str, expires: date | None, on: date, warn_days: int, rule: str) -> Credential:
    if expires is None:
        return Credential(
            label, "no date", "blocked", f"Infusions are blocked (protocol.personnel.{rule})."
        )
    if expires < on:
        return Credential(
            label,
            f"expired {expires}",
            "blocked",
            f"Infusions are blocked (protocol.personnel.{rule}): ask the clinic to renew it.",
        )
    left = (expires - on).days
    if left <= warn_days:
        return Credential(
            label,
            f"expires {expires}",
            "warn",
            f"In {left} days (warned {warn_days} days ahead: shift.credential_warn_days).",
        )
    return Credential(label, f"expires {expires}", "ok", "")


def shift_items(every: tuple[Item, ...]) -> list[Item]:
    """The checklist items answered once a shift."""
    return [item for item in every if item.scope == "shift"]


def record_check(services: AppServices, items: list[Item], texts: dict[str, str]) -> ShiftCheck:
    """Record the start-of-shift answers; `StepRefused` naming what is missing or wrong."""
    answers: dict[str, Any] = {}
    problems: list[str] = []
    for item in items:
        value, problem = parse_answer(item, texts.get(item.id, ""))
        if problem:
            problems.append(f"{item.label}: {problem}")
        elif value is None and item.required:
            problems.append(f"{item.label}: an answer is needed")
        else:
            answers[item.id] = value
    if problems:
        raise StepRefused("Not saved: " + "; ".join(problems[:3]) + ".")
    now = services.clock.now()
    record = ShiftCheck(
        id=uuid.uuid4(),
        recorded_at=now,
        recorded_by=services.user,
        day=today(services.clock),
        answers={k: v.isoformat() if isinstance(v, date) else v for k, v in answers.items()},
        templates=sorted({item.template for item in items if item.template}),
    )
    services.store.save(record)
    return record


def answered_before(services: AppServices, every: tuple[Item, ...]) -> dict[str, Answered]:
    """The checklist answers given before the visit, by item id: profile items from the
    clinic's profile, shift items from today's check. Items not answered there are asked."""
    found: dict[str, Answered] = {}
    held = profile(services)
    zone = services.clock.now().tzinfo
    if held is not None:
        at = held.updated_at.astimezone(zone)
        for item in every:
            if item.scope == "profile" and item.path in PROFILE_ANSWERS:
                value = getattr(held, PROFILE_ANSWERS[item.path])
                found[item.id] = Answered(value, held.updated_by, at, "profile")
    check = todays_check(services)
    if check is not None:
        for item in every:
            if item.scope == "shift" and item.id in check.answers:
                found[item.id] = Answered(
                    check.answers[item.id], check.recorded_by, check.recorded_at, "shift"
                )
    return found
