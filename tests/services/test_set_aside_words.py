"""What the sync screen says about a record the clinic set aside for a signature it carries."""

from __future__ import annotations

import uuid

import pytest

from fieldapp.services.syncing import explain
from sync.outbox import SetAsideItem


@pytest.mark.parametrize(
    ("kind", "reason", "words"),
    [
        ("checklist", "approval.answer: x (forged); kept for review", "signed answer"),
        ("substance", "ruling: x (wrong_role); kept for review", "signed answer"),
        ("dose_order", "checker_signature: x (unfiled); kept for review", "checker's key"),
        ("dose_order", "checker_signature: x (forged); kept for review", "does not check out"),
    ],
)
def test_the_laptop_says_in_plain_words_why_a_signed_record_was_set_aside(
    kind: str, reason: str, words: str
) -> None:
    item = SetAsideItem(1, kind, uuid.uuid4(), "rejected", reason)
    assert words in explain(item) and "call the clinic" in explain(item)
