"""The demo's prescriber and supervisor: real people of the demo clinic, answering through it.

The recorded demo day (`fieldapp.demo.recorded`) plays the prescriber who releases a hold
and the supervisor who rules on a discrepancy. Their answers must stand at the clinic: a
pushed record carrying an answer is checked against the clinic's own request row and the
key filed at its answerer's enrolment (`sync.server.pushed_signatures`). So `DemoClinic`
enrols both with the demo server the way a console is enrolled (a user of the role, a
one-time code redeemed, the public key filed), then answers each request through the
server's own code: the request is raised as the laptop's, the answer signed with the
answerer's key and kept only if the clinic's checks pass, and the clinic's copy comes back
with its certificate of the signer, which the laptop checks against the key it pinned.
The day's second checker is enrolled on the laptop with a one-time code the server
issues to them (`checker_code`), as their own laptop would ask for it.
Synthetic people only; their private keys live in memory for the run and nowhere else.
"""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlmodel import Session

from fieldapp.services.approvals import Answerer, PendingRequest
from sync.approvals import ROLE_FOR, RequestPublic, draft_answer
from sync.outbox import DeviceIdentity
from sync.server import approvals, audit, crud
from sync.server.auth import Caller, create_enroll_code, redeem_code
from sync.server.checker_codes import issue_audited
from sync.server.config import ServerSettings
from sync.server.db import transaction
from sync.server.models import AppUser
from sync.server.signatures import keep_signing_key
from sync.signatures import b64

DEMO_PRESCRIBER = ("drdemo", "prescriber", "Dr. Demo Prescriber")
DEMO_SUPERVISOR = ("supdemo", "supervisor", "Demo Supervisor")
DEMO_ANSWERERS = (DEMO_PRESCRIBER, DEMO_SUPERVISOR)


def add_answerers(session: Session, now: float) -> None:
    """The demo's prescriber and supervisor as clinic users (each once)."""
    for name, role, display in DEMO_ANSWERERS:
        if session.get(AppUser, name) is None:
            crud.add_user(session, name, role, now, display)


class DemoClinic(Answerer):
    """The demo server's own prescriber and supervisor, enrolled with their keys filed,
    answering the laptop `identity`'s requests through the server's approval code."""

    def __init__(
        self, engine: Engine, settings: ServerSettings, identity: DeviceIdentity, now: float
    ) -> None:
        if identity.manifest_key is None:
            raise ValueError("the laptop must be enrolled with the demo server first")
        self._engine, self._settings, self._identity = engine, settings, identity
        self._now = now
        self.prescriber, self.supervisor = DEMO_PRESCRIBER[0], DEMO_SUPERVISOR[0]
        self._keys: dict[str, Ed25519PrivateKey] = {}
        self._callers: dict[str, Caller] = {}
        with transaction(engine) as session:
            add_answerers(session, now)
            for name, role, _display in DEMO_ANSWERERS:
                self._enrol(session, name, role, now)

    def _enrol(self, session: Session, name: str, role: str, now: float) -> None:
        """Enrol `name`'s console as the enrolment route does: a code redeemed, the key filed."""
        code, _ = create_enroll_code(session, name, self._settings, now)
        enrolled = redeem_code(session, code, f"{name} demo console", self._settings, now)
        key = self._keys[name] = Ed25519PrivateKey.generate()
        public = b64(key.public_key().public_bytes_raw())
        keep_signing_key(session, enrolled.device.id, name, public, now)
        audit.append(
            session,
            actor=name,
            device_id=enrolled.device.id,
            action="enroll",
            outcome="ok",
            detail={"by": "demo"},
        )
        self._callers[name] = Caller(enrolled.device.id, name, role, False, 0, "0" * 64)

    @property
    def pinned_key(self) -> str:
        """The demo server's manifest key, as the laptop pinned it at enrolment."""
        assert self._identity.manifest_key is not None
        return self._identity.manifest_key

    def answer(
        self,
        pending: PendingRequest,
        decision: str,
        note: str,
        by: str,
        at: datetime,
        role: str | None = None,
    ) -> RequestPublic:
        """Raise `pending` as the laptop's at the clinic, have `by` (the demo's prescriber or
        supervisor) sign an answer the clinic checks and keeps, and return the clinic's copy
        with its certificate of the signer."""
        answerer = self._callers.get(by)
        if answerer is None:
            raise ValueError(f"{by!r} is not one of the demo clinic's answerers")
        laptop = Caller(
            self._identity.device_id, self._identity.user or "", "clinician", False, 0, ""
        )
        now = at.timestamp()
        with transaction(self._engine) as session:
            row = approvals.raise_request(session, laptop, pending.request, self._settings, now)
            found = approvals.public(session, row, now)
            draft = draft_answer(
                found,
                decision,  # type: ignore[arg-type]
                note,
                by,
                at,
                b64(self._keys[by].public_key().public_bytes_raw()),
                role=role or ROLE_FOR[row.kind],  # type: ignore[arg-type]
            )
            signature = b64(self._keys[by].sign(draft.signed_content()))
            signed = draft.model_copy(update={"signature": signature})
            row = approvals.record_answer(session, answerer, row.id, signed, now)
            audit.append(
                session,
                actor=by,
                device_id=answerer.device_id,
                action="approval_answer",
                outcome=signed.decision,
                detail={"request": row.id, "kind": row.kind, "by": "demo"},
            )
            return approvals.public(session, row, now)

    def checker_code(self, checker: str) -> str:
        """A one-time code the demo server issues to `checker` (at the server's time this
        clinic was opened), as `fieldapp checker-code` on their own laptop would get it."""
        with transaction(self._engine) as session:
            code, _ = issue_audited(session, checker, checker, self._settings, self._now)
        return code
