"""Signatures carried inside pushed records, checked on push: approvals and second checks.

A record may carry someone else's signed word: a checklist submission the prescriber's
release of its readiness holds (`approval.answer`), a dose order the prescriber's cap
override (`cap_override`) or remote second check (`remote_check`), a ledger resolution
the supervisor's ruling (`ruling`), a dose order its second checker's signature
(`checker_signature`). The laptop checked each when it came; the clinic checks each again
against what it holds itself, so a laptop cannot make one up, move one to another visit
or keep one that was declined:

- an answer must answer a request the clinic holds, raised by this clinician (from this
  laptop, or the same store enrolled again, which sends everything again), of the kind
  the field stands for (so answered by that kind's role), for this record's visit; it must
  be the very answer the clinic kept (same decision, same signature), verify under the key
  filed at its answerer's enrolment, name that answerer where the record names one, and
  release (not decline);
- a checker's signature must verify over the order under a key this clinician's laptop
  filed for that checker (`file_checker_key`, at `fieldapp store add-checker` or the next
  sync), which the clinic files only with a one-time code it issued to that checker
  (`sync.server.checker_codes`): the laptop's owner cannot file a key "for" a colleague;
- a telephone order (a hold released by a prescriber's voice, read back) must name the
  co-sign request it was queued under: if the clinic holds that request, it must be this
  clinician's telephone order for this visit, from the prescriber the record names, for
  the very order the record holds; if the clinic does not hold it yet (the laptop sends
  its requests before each push, so rarely), the clinic raises it from the record
  (`TelephoneOrder`), so no telephone order escapes its co-signature.

A record that fails is set aside for review (`Incoming.set_aside`: a `review_item` row,
the receipt's reason, the laptop's set-aside list) and never stored as a valid record;
each failure is also one audit event (`pushed_signature`, `refused_<reason>`, ids only).
A record carrying none of these costs nothing here. Records from before signed answers
(a name alone, no answer or signature) are left to the rules that held then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session, col

from sync.approvals import ROLE_FOR, Answer, Facts, signature_verifies, unb64
from sync.records import Approval as RecordApproval
from sync.records import ChecklistSubmission, DoseOrder, SubstanceEvent
from sync.server.auth import Caller
from sync.server.checker_codes import CHECKER_ROLES, Filing, redeem_checker_code
from sync.server.config import ServerSettings
from sync.server.errors import Invalid, NotFound
from sync.server.models import ApprovalRequestRow, AppUser, CheckerKey, SigningKey


@dataclass(frozen=True)
class Carried:
    """One signed answer inside a record: where, the request kind it must answer, and who
    the record says gave it (None: the record names nobody for it)."""

    field: str
    kind: str
    answer: Answer
    named: str | None


@dataclass(frozen=True)
class Refusal:
    """A record set aside for a signature it carries: what the audit event says."""

    record_id: str
    kind: str
    field: str
    reason: str  # forged, replayed, wrong_role, unknown, declined, unfiled
    request_id: str | None = None

    def detail(self) -> dict[str, Any]:
        """The audit event's detail (ids only)."""
        out = {"record_id": self.record_id, "kind": self.kind, "field": self.field}
        return out | ({"request_id": self.request_id} if self.request_id else {})


def carried(record: Any) -> list[Carried]:
    """The signed answers a record carries."""
    if isinstance(record, ChecklistSubmission):
        approval = record.approval
        if approval is not None and approval.answer is not None:
            return [
                Carried("approval.answer", "readiness_hold", approval.answer, approval.prescriber)
            ]
        return []
    if isinstance(record, DoseOrder):
        found = []
        if record.cap_override is not None:
            found.append(Carried("cap_override", "dose_cap", record.cap_override, None))
        if record.remote_check is not None:
            found.append(
                Carried("remote_check", "dose_check", record.remote_check, record.double_checked_by)
            )
        return found
    if isinstance(record, SubstanceEvent) and record.ruling is not None:
        return [Carried("ruling", "supervisor_decision", record.ruling, record.witness)]
    return []


# What each fault is called, and the sentence the laptop's set-aside list shows.
_SAYS = {
    "unknown": "the clinic has no such request",
    "replayed": "it answers another request, visit or laptop",
    "wrong_role": "it was given by the wrong role for this",
    "forged": "it is not the signed answer the clinic kept, or does not verify",
    "declined": "the answer declined",
}

# A telephone order's faults: the same names, its own sentences.
_TELEPHONE_SAYS = {
    "unknown": "it names no co-sign request",
    "replayed": "its co-sign request is another clinician's, visit's or kind's",
    "forged": "its co-sign request holds another order or prescriber",
}


# Marks the facts of a co-sign request the clinic raised from a pushed record.
RAISED_FROM_RECORD = "raised_from_record"


@dataclass(frozen=True)
class TelephoneOrder:
    """A pushed telephone order whose co-sign request the clinic does not hold yet: the
    clinic raises it from the record (`approvals.raise_from_record`)."""

    request_id: str
    visit_id: str | None
    facts: Facts  # who gave it and the order, as the record holds them
    given_at: float
    item: Any  # push's item: raised only if it is still stored (`.record` not None)


def _fault(
    one: Any,
    device: Caller,
    found: Carried,
    row: ApprovalRequestRow | None,
    keys: dict[str, SigningKey],
) -> str | None:
    """Why this answer must not stand in this record (None: it stands)."""
    answer = found.answer
    if row is None:
        return "unknown"
    if row.requested_by != device.user:  # the clinician's, from any of their enrolments
        return "replayed"
    if row.kind != found.kind:
        return "wrong_role" if row.role != ROLE_FOR[found.kind] else "replayed"
    if row.visit_id is not None and row.visit_id != one.visit_id:
        return "replayed"
    if answer.role != ROLE_FOR[found.kind]:
        return "wrong_role"
    if row.answer is None or Answer.model_validate_json(row.answer) != answer:
        return "forged"
    filed = keys.get(row.answer_device_id or "")
    if (
        filed is None
        or filed.user_name != answer.answered_by
        or not signature_verifies(answer, filed.public_key)
    ):
        return "forged"
    if found.named is not None and found.named != answer.answered_by:
        return "forged"
    released = answer.decision == "approve" or (
        answer.decision == "modify" and found.kind != "dose_check"
    )
    if not released:
        return "declined"
    if isinstance(one.record, SubstanceEvent) and one.record.significant_loss != (
        answer.decision == "modify"
    ):
        return "forged"  # the ruling says one thing, the record another
    return None


def _check_answers(session: Session, device: Caller, fresh: list[Any]) -> list[Refusal]:
    carrying = [(one, found) for one in fresh for found in carried(one.record)]
    if not carrying:
        return []
    ids = sorted({str(found.answer.request_id) for _, found in carrying})
    rows = {
        row.id: row
        for row in session.execute(
            select(ApprovalRequestRow).where(col(ApprovalRequestRow.id).in_(ids))
        ).scalars()
    }
    answerers = sorted({r.answer_device_id for r in rows.values() if r.answer_device_id})
    keys = {
        key.device_id: key
        for key in session.execute(
            select(SigningKey).where(col(SigningKey.device_id).in_(answerers))
        ).scalars()
    }
    refusals = []
    for one, found in carrying:
        if one.record is None:
            continue  # set aside already (another fault, or its other answer)
        request_id = str(found.answer.request_id)
        reason = _fault(one, device, found, rows.get(request_id), keys)
        if reason is not None:
            one.set_aside(f"{found.field}: {_SAYS[reason]} ({reason}); kept for review")
            refusals.append(Refusal(one.rid, one.item.kind, found.field, reason, request_id))
    return refusals


def checker_verifies(order: DoseOrder, public_key: str) -> bool:
    """Whether the order's checker signature verifies over the order under `public_key`."""
    signature = order.checker_signature
    if signature is None or signature.public_key != public_key:
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(unb64(public_key))
        key.verify(unb64(signature.value), order.checked_content())
    except (ValueError, InvalidSignature):
        return False
    return True


def _check_checkers(session: Session, device: Caller, fresh: list[Any]) -> list[Refusal]:
    signed = [
        one
        for one in fresh
        if isinstance(one.record, DoseOrder) and one.record.checker_signature is not None
    ]
    if not signed:
        return []
    filed = {
        row.public_key: row.checker
        for row in session.execute(
            select(CheckerKey).where(col(CheckerKey.filed_by) == device.user)
        ).scalars()
    }
    refusals = []
    for one in signed:
        order: DoseOrder = one.record
        signature = order.checker_signature
        assert signature is not None
        if filed.get(signature.public_key) != signature.checker:
            reason, says = "unfiled", "the checker's key is not filed with the clinic"
        elif order.double_checked_by != signature.checker or not checker_verifies(
            order, signature.public_key
        ):
            reason, says = "forged", "it does not verify as the named checker's"
        else:
            continue
        one.set_aside(f"checker_signature: {says} ({reason}); kept for review")
        refusals.append(Refusal(one.rid, one.item.kind, "checker_signature", reason))
    return refusals


def _telephone(record: Any) -> RecordApproval | None:
    """The record's telephone order, if it holds one."""
    if not isinstance(record, ChecklistSubmission) or record.approval is None:
        return None
    approval = record.approval
    is_telephone = approval.read_back or approval.cosign_request_id is not None
    return approval if is_telephone and approval.answer is None else None


def _telephone_fault(
    one: Any, device: Caller, approval: RecordApproval, row: ApprovalRequestRow
) -> str | None:
    """Why this telephone order must not stand against the request the clinic holds."""
    if row.requested_by != device.user or row.kind != "verbal_order":
        return "replayed"
    if row.visit_id is not None and row.visit_id != one.visit_id:
        return "replayed"
    facts = Facts.model_validate_json(row.facts)
    if facts.values.get("given_by") != approval.prescriber or facts.question != approval.note:
        return "forged"
    return None


def _facts_of(approval: RecordApproval) -> Facts | None:
    """The co-sign request's facts as the record gives them (None: no telephone order
    could hold these, an order longer than a request's question, say)."""
    values = {"given_by": approval.prescriber, "read_back": True, RAISED_FROM_RECORD: True}
    try:
        return Facts(values=values, question=approval.note)
    except ValidationError:
        return None


def _check_telephone_orders(
    session: Session, device: Caller, fresh: list[Any]
) -> tuple[list[Refusal], list[TelephoneOrder]]:
    orders = [(one, approval) for one in fresh if (approval := _telephone(one.record))]
    if not orders:
        return [], []
    ids = sorted({str(a.cosign_request_id) for _, a in orders if a.cosign_request_id})
    rows = {
        row.id: row
        for row in session.execute(
            select(ApprovalRequestRow).where(col(ApprovalRequestRow.id).in_(ids))
        ).scalars()
    }
    refusals, to_raise = [], []
    for one, approval in orders:
        request_id = str(approval.cosign_request_id) if approval.cosign_request_id else None
        row = rows.get(request_id or "")
        if request_id is None:
            reason: str | None = "unknown"
        elif row is None:
            facts = _facts_of(approval)
            reason = None if facts is not None else "forged"
            if facts is not None:
                at = approval.approved_at.timestamp()
                to_raise.append(TelephoneOrder(request_id, one.visit_id, facts, at, one))
        else:
            reason = _telephone_fault(one, device, approval, row)
        if reason is not None:
            says = _TELEPHONE_SAYS[reason]
            one.set_aside(f"approval: {says} ({reason}); kept for review")
            refusals.append(Refusal(one.rid, one.item.kind, "approval", reason, request_id))
    return refusals, to_raise


def check_pushed_signatures(
    session: Session, device: Caller, fresh: Iterable[Any]
) -> tuple[list[Refusal], list[TelephoneOrder]]:
    """Set aside each pushed record whose carried answer, checker signature or telephone
    order fails (`fresh`: push's validated items, with `.record`, `.rid`, `.visit_id`,
    `.set_aside`): what was set aside, for the audit, and the telephone orders whose
    co-sign requests the clinic must raise."""
    valid = [one for one in fresh if one.record is not None]
    refused = _check_answers(session, device, valid) + _check_checkers(session, device, valid)
    still = [one for one in valid if one.record is not None]
    telephone_refused, to_raise = _check_telephone_orders(session, device, still)
    return refused + telephone_refused, to_raise


def file_checker_key(
    session: Session,
    device: Caller,
    filing: Filing,
    code: str | None,
    settings: ServerSettings,
    now: float,
) -> bool:
    """File a second checker's key for this device, vouched for by the one-time `code`
    the clinic issued to that checker (True: newly filed; the same filing again is
    harmless). `NotFound`: no such active colleague; `Invalid`: the clinician themselves,
    or a key filed already for someone else; `CheckerCodeRefused`: the code does not vouch
    for it (checked last, so a filing refused otherwise leaves the code unused)."""
    checker, public_key = filing.checker, filing.public_key
    user = session.get(AppUser, checker)
    if user is None or not user.active or user.role not in CHECKER_ROLES:
        raise NotFound(f"no active clinician {checker!r} at this clinic")
    if checker == device.user:
        raise Invalid("checker: the second checker must be someone other than you")
    rows = session.execute(
        select(CheckerKey).where(col(CheckerKey.public_key) == public_key)
    ).scalars()
    here = False
    for row in rows:
        if row.checker != checker:
            raise Invalid("public_key: already filed for another checker")
        here = here or row.device_id == device.device_id
    redeem_checker_code(session, code, filing, settings, now)
    if here:
        return False
    session.add(
        CheckerKey(
            device_id=device.device_id,
            public_key=public_key,
            checker=checker,
            filed_by=device.user,
            filed_at=now,
        )
    )
    session.flush()
    return True
