"""Filing second checkers' keys is rate limited per address, like enrolment: a laptop
guessing codes is answered 429 with `Retry-After` (each code also dies after its tries,
see `test_checker_codes.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fieldapp.services.context import AppServices
from fieldapp.store.store import Store
from tests.approvals.checkers import post_checker
from tests.approvals.conftest import CLINICIAN, Clinic, live_clinic
from tests.tui.conftest import CHECKER


@pytest.fixture
async def strict_clinic(
    db_url: str, services: AppServices, store: Store, tmp_path: Path
) -> AsyncIterator[Clinic]:
    """A live clinic taking two checker filings from an address, then hardly any."""
    env = {
        "FIELDAPP_SERVER__RATE_LIMITS__CHECKER_FILING_BURST": "2",
        "FIELDAPP_SERVER__RATE_LIMITS__CHECKER_FILING_PER_MINUTE": "0.001",
    }
    async with live_clinic(db_url, store, tmp_path, env=env) as built:
        yield built


async def test_filings_are_rate_limited(strict_clinic: Clinic) -> None:
    clinic = strict_clinic
    key = clinic.stores[CLINICIAN].checker_public_key(CHECKER)
    answers = [await post_checker(clinic, CHECKER, key, f"GUESS{n}-0000-0000") for n in range(3)]
    assert [a.status_code for a in answers] == [403, 403, 429]
    assert int(answers[-1].headers["retry-after"]) > 0
