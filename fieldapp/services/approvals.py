"""Remote approvals on the laptop: the request a hold becomes, the answer that releases it.

The request carries the facts the decision used (each approvable hold's rule id, measured
value, threshold and setting), nothing else of the chart. The answer is released only
after `sync.approvals.check_answer` (the clinic vouches for the signer's key and role, the
signature covers this request's id and facts, it came in time) and only while the
decision still holds for those same facts: change an answer on the form and the approval
no longer applies. An answer the laptop refuses is reported to the clinic, where it is
audited.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldapp.clinical.reasons import Reason
from fieldapp.errors import FieldAppError
from sync.approval_client import ApprovalClient
from sync.approvals import (
    Answer,
    AnswerRefused,
    ApprovalKind,
    ApprovalRequestIn,
    Facts,
    RequestPublic,
    RuleFact,
    SignerCertificate,
    check_answer,
    draft_answer,
)
from sync.errors import SyncError
from sync.manifest import new_signing_key, public_key, sign
from sync.outbox import DeviceIdentity
from sync.signatures import b64

if TYPE_CHECKING:
    from fieldapp.clinical.readiness import ReadinessDecision
    from fieldapp.services.checklist import ChecklistRun
    from fieldapp.services.ledger import LedgerBook
    from sync.records import SubstanceEvent

HOLD_QUESTION = "Release these readiness holds for this visit?"


class NothingToApprove(FieldAppError):
    """No hold here is one a prescriber may release: fix the answers instead."""


def _fact(text: Any) -> str | None:
    return None if text is None else str(text)[:200]


def hold_facts(reasons: Sequence[Reason]) -> Facts | None:
    """The facts of every approvable hold (None when there is none)."""
    rules = [
        RuleFact(
            rule_id=r.rule_id,
            outcome=r.outcome,
            measured=_fact(r.measured),
            threshold=_fact(r.threshold),
            setting=_fact(r.setting),
        )
        for r in reasons
        if r.outcome == "hold" and r.approvable
    ]
    return Facts(rules=rules, question=HOLD_QUESTION) if rules else None


@dataclass
class PendingRequest:
    """A request this laptop raised: what it asked, and the answer once it is checked."""

    request: ApprovalRequestIn
    answer: Answer | None = None
    refused: list[str] = field(default_factory=list)

    @property
    def id(self) -> UUID:
        """The request's id."""
        return self.request.id

    def accept(self, found: RequestPublic, pinned_key: str) -> Answer:
        """Check the clinic's copy against what this laptop asked, then its answer
        (`AnswerRefused` for any fault; `refused` keeps the reason for the report)."""
        try:
            if found.id != self.request.id or found.facts != self.request.facts:
                raise AnswerRefused("replayed", "The clinic answered another request.")
            if found.answer is None:
                raise AnswerRefused("forged", "The clinic sent no answer.")
            answer = check_answer(found, found.answer, found.signer, pinned_key)
        except AnswerRefused as exc:
            self.refused.append(exc.reason)
            raise
        self.answer = answer
        return answer


def new_request(
    kind: ApprovalKind, facts: Facts, visit_id: UUID | None, given_at: datetime | None = None
) -> PendingRequest:
    """A request with a fresh id (made here, so a retry is the same request)."""
    return PendingRequest(
        ApprovalRequestIn(
            id=uuid.uuid4(), kind=kind, visit_id=visit_id, facts=facts, given_at=given_at
        )
    )


class Answerer:
    """Who plays the clinic and its answerers where no one sits at a console: case files,
    tests and the demo's recorded day. `answer` gives the clinic's copy of a request,
    answered and signed; `pinned_key` the clinic key that vouches for the signer. The
    laptop checks what comes back exactly as it checks an answer from the clinic.
    `prescriber` and `supervisor` are who answers each role's requests."""

    prescriber: str
    supervisor: str

    @property
    def pinned_key(self) -> str:
        """The clinic's public key, as a laptop pins it at enrolment."""
        raise NotImplementedError

    def answer(
        self,
        pending: PendingRequest,
        decision: str,
        note: str,
        by: str,
        at: datetime,
        role: str | None = None,
    ) -> RequestPublic:
        """The clinic's copy of `pending`, answered and signed by `by`."""
        raise NotImplementedError

    def rule(
        self, book: LedgerBook, vial: str, by: str, note: str, significant: bool, at: datetime
    ) -> SubstanceEvent:
        """Ask for a ruling on `vial`'s discrepancy and apply `by`'s signed one."""
        pending = book.ruling_request(vial)
        found = self.answer(pending, "modify" if significant else "approve", note, by, at)
        return book.resolve(vial, found, self.pinned_key)

    def checker_code(self, checker: str) -> str | None:
        """A one-time code the clinic issued to `checker`, which they type when enrolled as
        a second checker here (None: a clinic made up on the spot, which files nothing)."""
        return None

    def release(self, run: ChecklistRun, by: str, note: str) -> ReadinessDecision:
        """Ask for `run`'s holds to be released and apply `by`'s signed approval."""
        pending = run.approval_request()
        found = self.answer(pending, "approve", note, by, run.session.services.clock.now())
        return run.apply_answer(found, self.pinned_key)


class SimulatedClinic(Answerer):
    """A clinic and one enrolled answerer made on the spot, for case files and tests.

    The signature and the clinic's certificate are real Ed25519 ones and go through the
    same checks as an answer from the clinic; only the people are made up, and no clinic
    server knows them: records signed so never leave a throwaway store. (The demo's
    recorded day, which reaches a server, answers through it: `fieldapp.demo.clinic`.)
    A case's `approve = { prescriber, note }` is answered this way.
    """

    def __init__(
        self,
        prescriber: str = "Dr. Prescriber",
        supervisor: str = "Supervisor",
        ttl: timedelta = timedelta(minutes=30),
    ) -> None:
        self._clinic = new_signing_key()
        self._answerer = Ed25519PrivateKey.generate()
        self.prescriber, self.supervisor, self.ttl = prescriber, supervisor, ttl

    @property
    def pinned_key(self) -> str:
        """The clinic's public key, as a laptop pins it at enrolment."""
        return public_key(self._clinic)

    def answer(
        self,
        pending: PendingRequest,
        decision: str,
        note: str,
        by: str,
        at: datetime,
        role: str | None = None,
    ) -> RequestPublic:
        """The clinic's copy of `pending`, answered and signed by `by`."""
        req = pending.request
        found = RequestPublic(
            id=req.id,
            kind=req.kind,
            role="supervisor" if req.kind == "supervisor_decision" else "prescriber",
            visit_id=req.visit_id,
            facts=req.facts,
            facts_hash=req.facts.digest(),
            requested_by="clinician",
            requested_at=at,
            expires_at=at + self.ttl,
            status="answered",
        )
        key = b64(self._answerer.public_key().public_bytes_raw())
        draft = draft_answer(found, decision, note, by, at, key, role=role)  # type: ignore[arg-type]
        answer = draft.model_copy(
            update={"signature": b64(self._answerer.sign(draft.signed_content()))}
        )
        body = SignerCertificate.body_for(by, answer.role, key)
        signed = sign(self._clinic, body)
        cert = SignerCertificate(body=signed.body, signature=signed.signature)
        return found.model_copy(update={"answer": answer, "signer": cert})


class NotConnected(FieldAppError):
    """This laptop has no clinic to ask (not enrolled, or no sync configured)."""


class ApprovalLink:
    """The laptop's line to the clinic for its requests: the sync client's HTTP client and
    the enrolled identity (whose pinned clinic key checks the answerer's certificate)."""

    def __init__(self, sync: Any, store: Any, timeout_s: float) -> None:
        self.sync, self.store, self.timeout_s = sync, store, timeout_s

    def _identity(self) -> DeviceIdentity:
        identity = getattr(self.store, "device_identity", lambda: None)()
        if self.sync is None or identity is None or identity.manifest_key is None:
            raise NotConnected(
                "This laptop is not enrolled with a clinic server, so no prescriber can be "
                "asked from here: take a telephone order instead."
            )
        return identity  # type: ignore[no-any-return]

    def client(self) -> ApprovalClient:
        """An approval client over the sync client's connection."""
        identity = self._identity()  # first: without a sync client there is no `http`
        return ApprovalClient(self.sync.http, identity, self.timeout_s)

    @property
    def pinned_key(self) -> str:
        """The clinic's key this laptop pinned at enrolment."""
        key = self._identity().manifest_key
        assert key is not None
        return key

    async def send(self, pending: PendingRequest) -> RequestPublic:
        """Put the request in the clinic's queue (sending it again is harmless)."""
        return await self.client().raise_request(pending.request)

    async def wait(self, pending: PendingRequest, wait_s: float) -> RequestPublic:
        """The clinic's copy of the request, after up to `wait_s` waiting for its answer."""
        return await self.client().read(pending.id, wait_s)

    async def report(self, pending: PendingRequest, reason: str) -> None:
        """Tell the clinic this laptop refused the answer (best effort: it is refused anyway)."""
        with contextlib.suppress(SyncError):
            await self.client().report_refusal(pending.id, reason)
