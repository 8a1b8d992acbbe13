"""Remote approvals at the clinic: requests queued by role, answers checked before they are
kept (no FastAPI here; `routes/approvals.py` answers HTTP). See `sync/approvals.py` for the
whole journey.

An answer is kept only when it comes from a device of the role the request needs, names
that device's user, verifies under the key filed at that device's enrolment, is bound to
this request's id and facts, is the first answer, and arrives before the request expires.
Anything else raises `AnswerRejected` with one of `sync.approvals.REFUSAL_REASONS`; the
route audits it. A telephone order is the exception to expiry: it is co-signed late
rather than never, but past its deadline it is escalated (the supervisor's queue, the board).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import select
from sqlmodel import Session, col

from sync.approvals import (
    ROLE_FOR,
    Answer,
    ApprovalRequestIn,
    Facts,
    RefusalReason,
    RequestPublic,
    SignerCertificate,
    signature_verifies,
)
from sync.manifest import sign
from sync.server.auth import Caller
from sync.server.config import ServerSettings
from sync.server.errors import Invalid, NotFound, ServerError
from sync.server.manifests import signing_key
from sync.server.models import ApprovalRequestRow, SigningKey
from sync.server.pushed_signatures import RAISED_FROM_RECORD, TelephoneOrder

STATUS_FOR: dict[RefusalReason, int] = {
    "forged": 403,
    "wrong_role": 403,
    "replayed": 409,
    "expired": 410,
}


class AnswerRejected(ServerError):
    """An answer the clinic will not keep; `reason` is one of `REFUSAL_REASONS`."""

    def __init__(self, reason: RefusalReason, message: str) -> None:
        self.reason = reason
        self.code = f"answer_{reason}"
        super().__init__(message)


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def is_overdue(row: ApprovalRequestRow, now: float) -> bool:
    """Unanswered past its expiry or co-sign deadline."""
    return row.answer is None and now >= row.expires_at


def raise_request(
    session: Session,
    caller: Caller,
    body: ApprovalRequestIn,
    settings: ServerSettings,
    now: float,
    given_at: float | None = None,
) -> ApprovalRequestRow:
    """Queue a request (the same one sent again is the same request; a telephone order's
    own request takes the place of the one the clinic raised from its record)."""
    facts_hash = body.facts.digest()
    row = session.get(ApprovalRequestRow, str(body.id))
    if row is not None:
        if row.device_id != caller.device_id:
            raise Invalid("id: a different request already has this id")
        if row.facts_hash == facts_hash:
            return row
        if not _stands_in_for(row, body):
            raise Invalid("id: a different request already has this id")
        if row.answer is None:  # answered already: the co-signature stands as given
            row.facts, row.facts_hash = body.facts.model_dump_json(), facts_hash
            session.add(row)
            session.flush()
        return row
    ttl = settings.approvals
    if body.kind == "verbal_order":
        start = min(given_at if given_at is not None else now, now)
        expires = start + ttl.cosign_deadline_hours * 3600
    else:
        expires = now + ttl.request_ttl_min * 60
    row = ApprovalRequestRow(
        id=str(body.id),
        kind=body.kind,
        role=ROLE_FOR[body.kind],
        visit_id=str(body.visit_id) if body.visit_id else None,
        device_id=caller.device_id,
        requested_by=caller.user,
        facts=body.facts.model_dump_json(),
        facts_hash=facts_hash,
        requested_at=now,
        expires_at=expires,
    )
    session.add(row)
    session.flush()
    return row


def raise_from_record(
    session: Session,
    caller: Caller,
    order: TelephoneOrder,
    settings: ServerSettings,
    now: float,
) -> ApprovalRequestRow:
    """The co-sign request of a pushed telephone order whose laptop had not sent it yet:
    raised from the record, so the order is co-signed (or escalated) whatever the laptop
    does next."""
    body = ApprovalRequestIn(
        id=UUID(order.request_id),
        kind="verbal_order",
        visit_id=UUID(order.visit_id) if order.visit_id else None,
        facts=order.facts,
    )
    return raise_request(session, caller, body, settings, now, given_at=order.given_at)


def _stands_in_for(row: ApprovalRequestRow, body: ApprovalRequestIn) -> bool:
    """Whether `row` was raised from a record and `body` is the laptop's own request for
    the same telephone order (same prescriber, same words)."""
    if row.kind != "verbal_order" or body.kind != "verbal_order":
        return False
    held = Facts.model_validate_json(row.facts)
    return (
        held.values.get(RAISED_FROM_RECORD) is True
        and held.question == body.facts.question
        and held.values.get("given_by") == body.facts.values.get("given_by")
    )


def own_request(session: Session, caller: Caller, request_id: str) -> ApprovalRequestRow:
    """A request the caller raised (another's is not found: no leak)."""
    row = session.get(ApprovalRequestRow, request_id)
    if row is None or row.requested_by != caller.user:
        raise NotFound("no such request")
    return row


def reachable(row: ApprovalRequestRow, caller: Caller, now: float) -> bool:
    """Whether an answerer may see the request: their role's, or (a supervisor) a
    telephone order past its co-sign deadline."""
    if caller.role == row.role:
        return True
    return caller.role == "supervisor" and row.kind == "verbal_order" and is_overdue(row, now)


def queue(
    session: Session,
    caller: Caller,
    now: float,
    kind: str | None = None,
    status: str = "pending",
) -> list[ApprovalRequestRow]:
    """The caller's queue, overdue first, then by deadline."""
    query = select(ApprovalRequestRow)
    if kind is not None:
        query = query.where(col(ApprovalRequestRow.kind) == kind)
    if status == "pending":
        query = query.where(col(ApprovalRequestRow.answer).is_(None))
    elif status == "answered":
        query = query.where(col(ApprovalRequestRow.answer).is_not(None))
    rows = [r for r in session.execute(query).scalars() if reachable(r, caller, now)]
    return sorted(rows, key=lambda r: (not is_overdue(r, now), r.expires_at, r.id))


def for_answerer(
    session: Session, caller: Caller, request_id: str, now: float
) -> ApprovalRequestRow:
    """One request the answerer may see, or `NotFound`."""
    row = session.get(ApprovalRequestRow, request_id)
    if row is None or not reachable(row, caller, now):
        raise NotFound("no such request")
    return row


def record_answer(
    session: Session, caller: Caller, request_id: str, answer: Answer, now: float
) -> ApprovalRequestRow:
    """Keep a checked answer, or raise `AnswerRejected` / `NotFound`."""
    row = session.get(ApprovalRequestRow, request_id)
    if row is None:
        raise NotFound("no such request")
    if caller.role not in ("prescriber", "supervisor") or answer.role != caller.role:
        raise AnswerRejected("wrong_role", f"Only a {row.role} may answer this request.")
    if not reachable(row, caller, now):
        raise AnswerRejected("wrong_role", f"Only a {row.role} may answer this request.")
    filed = session.get(SigningKey, caller.device_id)
    if (
        answer.answered_by != caller.user
        or filed is None
        or not signature_verifies(answer, filed.public_key)
    ):
        raise AnswerRejected("forged", "The answer is not signed with your enrolled key.")
    if str(answer.request_id) != row.id or answer.facts_hash != row.facts_hash:
        raise AnswerRejected("replayed", "The answer was signed for another request.")
    if row.answer is not None:
        if Answer.model_validate_json(row.answer) == answer:
            return row  # the same answer sent again (its reply was lost)
        raise AnswerRejected("replayed", "This request was answered already.")
    late = now >= row.expires_at or answer.answered_at.timestamp() >= row.expires_at
    if late and row.kind != "verbal_order":
        raise AnswerRejected("expired", "The request expired: the laptop must ask again.")
    row.answer = answer.model_dump_json()
    row.answered_by = caller.user
    row.answer_device_id = caller.device_id
    row.answered_at = now
    session.add(row)
    session.flush()
    return row


def certificate(session: Session, row: ApprovalRequestRow) -> SignerCertificate | None:
    """The clinic's signed word on the answerer's name, role and key (None: unanswered)."""
    if row.answer is None or row.answer_device_id is None:
        return None
    answer = Answer.model_validate_json(row.answer)
    body = SignerCertificate.body_for(answer.answered_by, answer.role, answer.public_key)
    signed = sign(signing_key(session.connection()), body)
    return SignerCertificate(body=signed.body, signature=signed.signature)


def public(session: Session, row: ApprovalRequestRow, now: float) -> RequestPublic:
    """A request as the API shows it, with its answer and the signer's certificate."""
    answered = row.answer is not None
    status = "answered" if answered else ("expired" if now >= row.expires_at else "pending")
    if row.kind == "verbal_order" and not answered:
        status = "pending"  # still to co-sign, however late
    return RequestPublic(
        id=row.id,  # type: ignore[arg-type]
        kind=row.kind,  # type: ignore[arg-type]
        role=row.role,  # type: ignore[arg-type]
        visit_id=row.visit_id,  # type: ignore[arg-type]
        facts=Facts.model_validate(json.loads(row.facts)),
        facts_hash=row.facts_hash,
        requested_by=row.requested_by,
        requested_at=_at(row.requested_at),
        expires_at=_at(row.expires_at),
        status=status,  # type: ignore[arg-type]
        overdue=is_overdue(row, now),
        answer=Answer.model_validate_json(row.answer) if row.answer else None,
        signer=certificate(session, row),
    )
