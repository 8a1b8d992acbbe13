"""Break-glass access: what a clinician states to see a patient outside their assignment.

Shared by the server (which checks and grants it) and the laptop (which asks for it and
shows the patient under a banner until the grant ends). A request carries a coded reason
and the clinician's own words; both are required, and the words are record text (no NUL,
`sync.text`) of bounded length. The grant's lifetime is the server's setting
(`[break_glass] max_minutes` in `config/server.toml`): a request may ask for less, never more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from sync.text import Text

REASON_CODES: dict[str, str] = {
    "colleague_unavailable": "The assigned clinician cannot attend (ill, stuck, unreachable)",
    "clinical_emergency": "A clinical emergency with this patient needs their record now",
    "patient_contacted_me": "The patient or their carer contacted me for urgent help",
    "covering_visit": "I was sent to cover this visit before dispatch could reassign it",
    "other": "Another urgent reason (say which in the reason)",
}
"""Each coded reason with the words the app shows for it."""

ReasonCode = Literal[
    "colleague_unavailable", "clinical_emergency", "patient_contacted_me", "covering_visit", "other"
]
REASON_MIN, REASON_MAX = 3, 500


def _reason(value: str) -> str:
    # Checked here, after `Text` refused a NUL, on the stripped words: blank is no reason.
    value = value.strip()
    if len(value) < REASON_MIN:
        raise PydanticCustomError("reason_missing", "say why, in a few words at least")
    if len(value) > REASON_MAX:
        raise PydanticCustomError("reason_too_long", f"at most {REASON_MAX} characters")
    return value


ReasonText = Annotated[Text, AfterValidator(_reason)]
"""The clinician's own words: a few characters at least, never overlong, never a NUL."""


class AccessRequest(BaseModel):
    """What the laptop sends to break the glass on one patient."""

    model_config = ConfigDict(extra="forbid")

    patient_id: UUID
    reason_code: ReasonCode
    reason: ReasonText
    minutes: int | None = Field(None, ge=1, le=24 * 60)
    """Asked-for length; None asks for the setting. More than the setting is refused."""


class Grant(BaseModel):
    """An access granted: which patient, until when (the server's clock), and its id."""

    model_config = ConfigDict(extra="ignore")

    id: UUID
    patient_id: UUID
    clinician: str
    reason_code: ReasonCode
    granted_at: datetime
    expires_at: datetime

    def active(self, now: datetime) -> bool:
        """Whether the grant still holds at `now`."""
        return self.granted_at <= now < self.expires_at

    @classmethod
    def from_answer(cls, data: Any) -> Grant:
        """The grant in a server's answer (`ValueError` if it is not one)."""
        return cls.model_validate(data)


class GrantForReview(Grant):
    """An access as the supervisor reviews it: the clinician's own words, who reviewed it."""

    reason: str
    minutes: int
    device_id: str
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    reviewed_device: str | None = None
    review_note: str | None = None


class Notice(BaseModel):
    """A supervisor's notice of a break-glass access, with the access itself."""

    id: UUID
    kind: Literal["break_glass"]
    created_at: datetime
    access: GrantForReview


class ReviewRequest(BaseModel):
    """A supervisor's review of an access: an optional note (who reviews is their token)."""

    model_config = ConfigDict(extra="forbid")

    note: (
        Annotated[Text, StringConstraints(strip_whitespace=True, max_length=REASON_MAX)] | None
    ) = None
