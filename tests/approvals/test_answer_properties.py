"""Any change to a signed answer, or to the clinic's certificate of its signer, makes the
laptop refuse it: property tests over varied facts, decisions and changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldapp.services.approvals import SimulatedClinic, new_request
from sync.approvals import AnswerRefused, Facts, RuleFact, SignerCertificate, check_answer

AT = datetime(2030, 3, 4, 12, 0, tzinfo=UTC)
CLINIC = SimulatedClinic()

texts = st.text(st.characters(codec="ascii", exclude_categories=("Cc",)), max_size=30)
rule_ids = st.from_regex(r"[a-z_]{1,20}", fullmatch=True)
facts = st.builds(
    Facts,
    rules=st.lists(
        st.builds(RuleFact, rule_id=rule_ids, measured=st.none() | texts, threshold=texts),
        min_size=1,
        max_size=4,
    ),
    values=st.dictionaries(rule_ids, st.integers(-1000, 1000) | texts, max_size=4),
)
CHANGES = {
    "decision": lambda a: a.model_copy(
        update={"decision": "decline" if a.decision != "decline" else "approve"}
    ),
    "note": lambda a: a.model_copy(update={"note": a.note + "!"}),
    "by": lambda a: a.model_copy(update={"answered_by": a.answered_by + "x"}),
    "time": lambda a: a.model_copy(update={"answered_at": a.answered_at - timedelta(seconds=1)}),
    "facts": lambda a: a.model_copy(update={"facts_hash": "0" * 64}),
}


@given(facts, st.sampled_from(["approve", "decline", "modify"]), st.sampled_from(sorted(CHANGES)))
def test_a_changed_answer_never_passes(given_facts: Facts, decision: str, change: str) -> None:
    pending = new_request("readiness_hold", given_facts, None)
    found = CLINIC.answer(pending, decision, "a note", "drp", AT)
    assert found.answer is not None
    assert check_answer(found, found.answer, found.signer, CLINIC.pinned_key) == found.answer
    with pytest.raises(AnswerRefused):
        check_answer(found, CHANGES[change](found.answer), found.signer, CLINIC.pinned_key)


@given(facts, st.sampled_from(["user", "role", "public_key"]))
def test_a_changed_certificate_never_passes(given_facts: Facts, field: str) -> None:
    pending = new_request("readiness_hold", given_facts, None)
    found = CLINIC.answer(pending, "approve", "a note", "drp", AT)
    assert found.signer is not None and found.answer is not None
    values = {"user": "drp", "role": "prescriber", "public_key": found.answer.public_key}
    values[field] = {"user": "other", "role": "supervisor", "public_key": "A" * 43}[field]
    forged = SignerCertificate(
        body=SignerCertificate.body_for(values["user"], values["role"], values["public_key"]),
        signature=found.signer.signature,
    )
    with pytest.raises(AnswerRefused) as refused:
        check_answer(found, found.answer, forged, CLINIC.pinned_key)
    assert refused.value.reason == "forged"
