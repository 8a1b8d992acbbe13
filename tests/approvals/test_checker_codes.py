"""A second checker's key is filed only with a one-time code the clinic issued to that
checker, over real HTTP with the real stores: the laptop's owner cannot enrol a key "for" a
colleague. Without a code, with another colleague's, a used, an expired or a guessed one,
the filing is refused with the reason (never the code), audited, nothing is filed, and the
checker's doses are set aside `unfiled`; the code is kept only as hashes."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import select

from fieldapp.cli import main
from fieldapp.services.context import AppServices
from fieldapp.settings import Settings
from sync.client import SyncClient, enroll
from sync.server.checker_codes import issue_checker_code
from sync.server.db import make_engine, transaction
from sync.server.models import AuditEvent, CheckerCode
from sync.signatures import b64
from tests.approvals.checkers import (
    code_from_own_laptop,
    code_state,
    enrolled_with_code,
    filed,
    post_checker,
)
from tests.approvals.conftest import (
    CLINICIAN,
    OTHER_CLINICIAN,
    PRESCRIBER,
    SUPERVISOR,
    Clinic,
)
from tests.approvals.conftest import _code as enrolment_code
from tests.approvals.test_pushed_signatures import (  # noqa: F401 (an autouse fixture)
    assert_set_aside,
    at_clinic,
    checked_dose,
    day_at_the_clinic,
    sync,
)
from tests.store.factory import PASSPHRASE, new_store
from tests.tui.conftest import CHECKER, CHECKER_PIN

assert CHECKER == OTHER_CLINICIAN  # the colleague who checks is a clinician of the clinic


def refused(response: httpx.Response, reason: str) -> bool:
    """Whether the clinic refused the filing with 403 naming `reason`."""
    return response.status_code == 403 and response.json()["error"] == f"checker_code_{reason}"


def outcomes(clinic: Clinic) -> list[str]:
    """The audited outcome of every filing, oldest first."""
    return [outcome for _, outcome, _ in clinic.audit("checker_key")]


def issued_long_ago(clinic: Clinic, user: str) -> str:
    """A code the clinic issued to `user` one lifetime and a minute ago: expired now."""
    engine = make_engine(clinic.settings)
    lifetime = clinic.settings.checker_code_ttl_min * 60
    try:
        with transaction(engine) as session:
            code, _ = issue_checker_code(
                session, user, user, clinic.settings, time.time() - lifetime - 60
            )
        return code
    finally:
        engine.dispose()


async def test_a_key_enrolled_without_the_colleague_is_never_filed_and_its_doses_set_aside(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    store = clinic.stores[CLINICIAN]
    # The laptop's owner enrols "c02" with a PIN of their own choosing, and no code: the
    # laptop has nothing to file the key with, and a filing sent by hand is refused.
    assert store.unfiled_checkers() == []
    order = checked_dose(services)
    await sync(clinic, settings)
    forged = await post_checker(clinic, CHECKER, store.checker_public_key(CHECKER), None)
    assert refused(forged, "missing")
    assert "only with the code the clinic issued to them" in forged.json()["detail"]
    assert filed(clinic) == []
    assert outcomes(clinic) == ["refused_missing"]
    assert_set_aside(clinic, order.id, "unfiled")


async def test_a_code_issued_to_another_colleague_is_refused_and_counted(
    clinic: Clinic, settings: Settings
) -> None:
    key = clinic.stores[CLINICIAN].checker_public_key(CHECKER)
    theirs = await code_from_own_laptop(clinic, settings, PRESCRIBER)
    answer = await post_checker(clinic, CHECKER, key, theirs)
    assert refused(answer, "other_user")
    assert "someone else" in answer.json()["detail"]
    assert filed(clinic) == []
    assert code_state(clinic, PRESCRIBER) == [(1, False)]  # a try counted, still unused
    assert outcomes(clinic) == ["refused_other_user"]


async def test_a_used_code_files_nothing_more(clinic: Clinic, settings: Settings) -> None:
    store = clinic.stores[CLINICIAN]
    code = await enrolled_with_code(clinic, settings)
    key = store.checker_public_key(CHECKER)
    assert (await post_checker(clinic, CHECKER, key, code)).status_code == 200
    # the same code again, for a key the laptop's owner made up later
    other_key = b64(Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    again = await post_checker(clinic, CHECKER, other_key, code)
    assert refused(again, "used")
    assert filed(clinic) == [(CHECKER, CLINICIAN, key)]
    assert outcomes(clinic) == ["filed", "refused_used"]


async def test_an_expired_code_is_refused_dropped_and_the_checkers_doses_set_aside(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    store = clinic.stores[CLINICIAN]
    # enrolled offline with a code that expires before the laptop's next sync
    store.enrol_checker(CHECKER, CHECKER_PIN, issued_long_ago(clinic, CHECKER))
    order = checked_dose(services)
    report = await sync(clinic, settings)
    assert report.checkers_refused == [CHECKER]  # the sync's line says so
    assert f"refused the checker key of {CHECKER}" in report.summary()
    assert filed(clinic) == []
    assert outcomes(clinic) == ["refused_expired"]
    assert_set_aside(clinic, order.id, "unfiled")
    assert store.unfiled_checkers() == []  # the dead code is dropped: not sent again
    await sync(clinic, settings)
    assert outcomes(clinic) == ["refused_expired"]
    # enrolled again, with a fresh code: filed, and the next dose they check stored
    await enrolled_with_code(clinic, settings)
    unsigned = order.model_copy(update={"id": uuid.uuid4(), "checker_signature": None})
    signature = store.sign_as_checker(CHECKER, CHECKER_PIN, unsigned.checked_content())
    later = unsigned.model_copy(update={"checker_signature": signature})
    store.save(later)
    await sync(clinic, settings)
    assert [checker for checker, _, _ in filed(clinic)] == [CHECKER]
    assert at_clinic(clinic, later.id) == (True, [])


async def test_guessing_a_code_kills_it_after_its_tries(clinic: Clinic, settings: Settings) -> None:
    key = clinic.stores[CLINICIAN].checker_public_key(CHECKER)
    code = await code_from_own_laptop(clinic, settings, CHECKER)
    code_id = code.split("-")[0]
    tries = clinic.settings.checker_code_max_tries
    for n in range(tries):
        guess = f"{code_id}-{n:04d}-0000"
        assert refused(await post_checker(clinic, CHECKER, key, guess), "wrong")
    assert refused(await post_checker(clinic, CHECKER, key, code), "no_tries")
    assert refused(await post_checker(clinic, CHECKER, key, "NOSUCH-CODE-0000"), "wrong")
    assert filed(clinic) == []
    assert code_state(clinic, CHECKER) == [(tries, False)]


async def test_a_name_the_clinic_does_not_know_keeps_its_code_for_the_next_round(
    clinic: Clinic, settings: Settings
) -> None:
    store = clinic.stores[CLINICIAN]
    code = await code_from_own_laptop(clinic, settings, CHECKER)
    store.enrol_checker("nobody", "135790", code)  # a typo in the name, say
    refused = await SyncClient(clinic.http, store, settings.sync).file_checkers()
    assert refused == {"nobody": "Not an active clinician or prescriber at the clinic."}
    assert [name for name, _, _ in store.unfiled_checkers()] == ["nobody"]
    assert code_state(clinic, CHECKER) == [(0, False)]  # the code is untouched
    assert outcomes(clinic) == ["refused_not_found"]


async def test_the_happy_path_files_the_key_and_keeps_no_code_anywhere(
    clinic: Clinic, services: AppServices, settings: Settings
) -> None:
    store = clinic.stores[CLINICIAN]
    code = await enrolled_with_code(clinic, settings)
    order = checked_dose(services)
    report = await sync(clinic, settings)
    assert report.set_aside == 0 and report.checkers_refused == []
    assert filed(clinic) == [(CHECKER, CLINICIAN, store.checker_public_key(CHECKER))]
    assert at_clinic(clinic, order.id) == (True, [])
    assert code_state(clinic, CHECKER) == [(0, True)]
    # neither part of the code is kept or audited in the clear
    parts = [part for part in re.split(r"[^0-9A-Z]", code) if part]
    engine = make_engine(clinic.settings)
    try:
        with transaction(engine) as session:
            rows = [r.model_dump_json() for r in session.exec(select(CheckerCode)).all()]
            events = [e.model_dump_json() for e in session.exec(select(AuditEvent)).all()]
    finally:
        engine.dispose()
    compact = code.replace("-", "")
    for text in rows + events:
        assert compact not in text and all(part not in text for part in parts), text
    issued = [json.loads(d) for _, o, d in clinic.audit("checker_code") if o == "issued"]
    assert issued == [{"user": CHECKER}]


async def test_only_a_clinician_or_prescriber_gets_a_code_and_only_for_themselves(
    clinic: Clinic, settings: Settings
) -> None:
    supervisor = clinic.stores[SUPERVISOR].device_identity()
    assert supervisor is not None
    answer = await clinic.http.post(
        clinic.server.url + "/checkers/code",
        headers={"Authorization": f"Bearer {supervisor.token}"},
    )
    assert answer.status_code == 403
    mine = await code_from_own_laptop(clinic, settings, PRESCRIBER)
    assert code_state(clinic, PRESCRIBER) == [(0, False)]
    assert code_state(clinic, CHECKER) == []
    key = clinic.stores[CLINICIAN].checker_public_key(CHECKER)
    assert refused(await post_checker(clinic, CHECKER, key, mine), "other_user")


def test_the_colleague_gets_a_code_and_types_it_on_the_clinicians_laptop(
    clinic: Clinic,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The prescriber checks a dose on c02's laptop: they ask for their code on their own
    # laptop (`fieldapp checker-code`), then type it, and their PIN, on c02's.
    host = tmp_path / "c02-laptop.store"
    laptop = new_store(host)

    async def enrol() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            code = enrolment_code(clinic.settings, CHECKER)
            await enroll(clinic.server.url, code, laptop, http=http)

    asyncio.run(enrol())
    laptop.close()
    clinic.stores[PRESCRIBER].close()  # the prescriber's own laptop, now used by the command
    own = tmp_path / f"{PRESCRIBER}.store"
    monkeypatch.setenv("FIELDAPP_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("FIELDAPP_USER_CONFIG", str(tmp_path / "none.toml"))
    assert main(["checker-code", "--store", str(own)]) == 0
    shown = capsys.readouterr().out
    found = re.search(r"your checker code: (\S+)", shown)
    assert found is not None and "single use, valid for 30 minutes" in shown
    code = found[1]
    monkeypatch.setenv("FIELDAPP_CHECKER_PIN", "482913")
    monkeypatch.setenv("FIELDAPP_CHECKER_CODE", code)
    assert main(["store", "add-checker", PRESCRIBER, "--store", str(host)]) == 0
    assert "the key is filed with the clinic" in capsys.readouterr().out
    assert [(c, by) for c, by, _ in filed(clinic)] == [(PRESCRIBER, CHECKER)]
    # the spent code typed for another colleague: refused with the reason, never the code
    assert main(["store", "add-checker", CLINICIAN, "--store", str(host)]) == 0
    out = capsys.readouterr().out
    assert f"the clinic refused the key of {CLINICIAN}" in out and "someone else" in out
    assert code not in out
    assert [(c, by) for c, by, _ in filed(clinic)] == [(PRESCRIBER, CHECKER)]
