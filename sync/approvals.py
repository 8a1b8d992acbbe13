"""Remote approvals: the request a laptop raises, the answer a prescriber or supervisor signs.

How one travels (README "Remote approvals"): the laptop raises an `ApprovalRequest` that
carries only the facts its decision used (rule ids, measured values, thresholds, the
settings that set them) and nothing else of the chart. The clinic queues it for the role
that may answer it. The answerer's own laptop signs an `Answer` with their enrolled
Ed25519 key over `Answer.signed_content()`, which binds the request's id and the hash of
its facts, so an answer cannot be moved to another request or to changed facts. The
clinic checks the signature under the key filed at the answerer's enrolment and hands the
answer back with a `SignerCertificate`: the answerer's name, role and public key, signed
with the clinic's manifest key the laptop pinned at its own enrolment. The laptop checks
all of it again (`check_answer`) before its decision is re-run with the answer.

Every way an answer can be bad is one `AnswerRefused` whose `reason` is one of
`REFUSAL_REASONS`; it names no patient fact.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from sync.canonical import canonical_json
from sync.text import Text

ApprovalKind = Literal[
    "readiness_hold", "dose_cap", "supervisor_decision", "verbal_order", "dose_check"
]
AnswerRole = Literal["prescriber", "supervisor"]
Decision = Literal["approve", "decline", "modify"]
RefusalReason = Literal["forged", "replayed", "expired", "wrong_role"]
REFUSAL_REASONS: tuple[RefusalReason, ...] = ("forged", "replayed", "expired", "wrong_role")

# Who may answer each kind: a hold or a dose over its cap is the prescriber's, and so is a
# remote second check of a dose when no colleague is present; a ledger discrepancy or
# significant-loss ruling the supervisor's. A verbal order is co-signed by the prescriber
# who gave it.
ROLE_FOR: dict[str, AnswerRole] = {
    "readiness_hold": "prescriber",
    "dose_cap": "prescriber",
    "verbal_order": "prescriber",
    "dose_check": "prescriber",  # a remote second check of the dose's arithmetic
    "supervisor_decision": "supervisor",
}
CERT_FORMAT = "signer/1"
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,80}$")]
Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]
Sig = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86}$")]


def _not_blank(text: str) -> str:
    """Stripped, and refused when nothing is left (an answer always says why)."""
    text = text.strip()
    if not text:
        raise ValueError("must not be blank")
    return text


Note = Annotated[Text, StringConstraints(max_length=2000), AfterValidator(_not_blank)]
Fact = Annotated[Text, StringConstraints(max_length=200)]


def unb64(text: str) -> bytes:
    """Base64url without padding, decoded (ValueError when it is not that). The same as
    `sync.signatures.unb64`, which this module cannot import: the records import it."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None


class _Wire(BaseModel):
    # NaN and infinity are refused here as in every record: an answer rides in records.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RuleFact(_Wire):
    """One rule the decision used: its id, the value it measured, its limit and setting."""

    rule_id: Id
    outcome: Annotated[str, StringConstraints(max_length=20)] = "hold"
    measured: Fact | None = None
    threshold: Fact | None = None
    setting: Fact | None = None


class Facts(_Wire):
    """What the answerer sees: the decision's rules and its plain values, nothing else."""

    rules: list[RuleFact] = Field(default_factory=list, max_length=50)
    values: dict[Id, bool | int | float | Fact | None] = Field(default_factory=dict, max_length=50)
    question: Annotated[Text, StringConstraints(max_length=500)] = ""

    def digest(self) -> str:
        """SHA-256 of the canonical facts: what an answer is bound to."""
        return hashlib.sha256(canonical_json(self.model_dump(mode="json"))).hexdigest()


class ApprovalRequestIn(_Wire):
    """What a laptop sends: its own id for the request (a retry is recognised), the kind,
    the visit it is for (an id only) and the facts."""

    id: UUID
    kind: ApprovalKind
    visit_id: UUID | None = None
    facts: Facts
    given_at: datetime | None = None  # a telephone order: when it was given (offline)


class Answer(_Wire):
    """An answer as signed: the request and facts it answers, the decision, the answerer."""

    request_id: UUID
    facts_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    decision: Decision
    note: Note
    modified: dict[Id, int | float | Fact] | None = Field(None, max_length=50)
    answered_by: Annotated[Text, StringConstraints(min_length=1, max_length=64)]
    role: AnswerRole
    answered_at: datetime
    public_key: Key
    signature: Sig | None = None

    def signed_content(self) -> bytes:
        """The canonical bytes the signature covers (everything but the signature)."""
        return canonical_json(self.model_dump(mode="json", exclude={"signature"}))


class SignerCertificate(_Wire):
    """The clinic's word on who holds a key: name, role, public key, signed with its
    manifest key (base64, as the laptop pinned it)."""

    body: str
    signature: str

    @staticmethod
    def body_for(user: str, role: str, public_key: str) -> str:
        """The certified text for a signer."""
        fields = {"format": CERT_FORMAT, "user": user, "role": role, "public_key": public_key}
        return canonical_json(fields).decode("ascii")


class RequestPublic(_Wire):
    """A request as the clinic holds it (and as the answerer's queue shows it)."""

    id: UUID
    kind: ApprovalKind
    role: AnswerRole
    visit_id: UUID | None
    facts: Facts
    facts_hash: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    status: Literal["pending", "answered", "expired"]
    overdue: bool = False
    answer: Answer | None = None
    signer: SignerCertificate | None = None


class ReviewTask(_Wire):
    """A follow-up task the protocol engine gave a prescriber or supervisor: what, for which
    visit (an id), due when, where it stands. Never its text or the reason behind it."""

    id: UUID
    action: str
    owner: AnswerRole
    visit_id: UUID | None
    due_at: datetime | None
    state: Literal["open", "overdue", "done"]


class AnswerRefused(Exception):
    """An answer that must not release anything; `reason` says which way it is bad."""

    def __init__(self, reason: RefusalReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def signature_verifies(answer: Answer, public_key: str) -> bool:
    """Whether the answer's signature verifies under `public_key` (base64url)."""
    if answer.signature is None or answer.public_key != public_key:
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(unb64(public_key))
        key.verify(unb64(answer.signature), answer.signed_content())
    except (ValueError, InvalidSignature):
        return False
    return True


def read_certificate(cert: SignerCertificate, pinned_key: str) -> dict[str, Any]:
    """The certified signer (user, role, public_key), or `AnswerRefused("forged")`."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(pinned_key, validate=True))
        key.verify(base64.b64decode(cert.signature, validate=True), cert.body.encode())
        data = json.loads(cert.body)
    except (InvalidSignature, binascii.Error, ValueError):
        raise AnswerRefused(
            "forged", "The answerer's key is not one the clinic vouches for."
        ) from None
    if not isinstance(data, dict) or data.get("format") != CERT_FORMAT:
        raise AnswerRefused("forged", "The answerer's key is not one the clinic vouches for.")
    return data


def check_answer(
    request: RequestPublic, answer: Answer, signer: SignerCertificate | None, pinned_key: str
) -> Answer:
    """The answer, if it answers this very request, in time, by the right role, signed by
    a key the clinic vouches for; else `AnswerRefused` naming the way it fails."""
    if signer is None:
        raise AnswerRefused("forged", "The answer comes without the clinic's word on its signer.")
    cert = read_certificate(signer, pinned_key)
    if cert.get("public_key") != answer.public_key or cert.get("user") != answer.answered_by:
        raise AnswerRefused("forged", "The answer is signed by someone other than it names.")
    if not signature_verifies(answer, answer.public_key):
        raise AnswerRefused("forged", "The answer's signature does not verify.")
    if answer.request_id != request.id or answer.facts_hash != request.facts.digest():
        raise AnswerRefused("replayed", "The answer was given to another request.")
    if cert.get("role") != request.role or answer.role != request.role:
        raise AnswerRefused("wrong_role", f"Only a {request.role} may answer this request.")
    if answer.answered_at >= request.expires_at:
        raise AnswerRefused("expired", "The answer came after the request expired.")
    return answer


def draft_answer(
    request: RequestPublic,
    decision: Decision,
    note: str,
    answered_by: str,
    answered_at: datetime,
    public_key: str,
    role: AnswerRole | None = None,
    modified: dict[str, float | int | str] | None = None,
) -> Answer:
    """An answer to `request`, ready to sign (bound to its id and facts)."""
    return Answer(
        request_id=request.id,
        facts_hash=request.facts_hash,
        decision=decision,
        note=note,
        modified=modified,
        answered_by=answered_by,
        role=role or request.role,
        answered_at=answered_at,
        public_key=public_key,
    )
