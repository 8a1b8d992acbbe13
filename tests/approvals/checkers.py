"""Second checkers' one-time codes in tests: got as the colleague would get theirs (from
their own enrolled laptop), typed at the enrolment on the clinician's laptop, posted."""

from __future__ import annotations

import httpx
from sqlmodel import col, select

from fieldapp.settings import Settings
from sync.client import SyncClient
from sync.server.db import make_engine, transaction
from sync.server.models import CheckerCode, CheckerKey
from tests.approvals.conftest import CLINICIAN, Clinic
from tests.tui.conftest import CHECKER, CHECKER_PIN


async def code_from_own_laptop(
    clinic: Clinic, settings: Settings, who: str, http: httpx.AsyncClient | None = None
) -> str:
    """A one-time checker code `who` asks the clinic for, from their own laptop (over
    `http`, else the clinic's client)."""
    client = SyncClient(http or clinic.http, clinic.stores[who], settings.sync)
    code, _expires = await client.checker_code()
    return code


async def enrolled_with_code(clinic: Clinic, settings: Settings) -> str:
    """The colleague (`CHECKER`) enrolled again on the clinician's laptop, typing their
    PIN and the code they got on their own laptop (nothing filed yet); the code."""
    code = await code_from_own_laptop(clinic, settings, CHECKER)
    clinic.stores[CLINICIAN].enrol_checker(CHECKER, CHECKER_PIN, code)
    return code


async def post_checker(
    clinic: Clinic, checker: str, public_key: str | None, code: str | None, who: str = CLINICIAN
) -> httpx.Response:
    """`POST /checkers` from `who`'s laptop, as it is sent (no code field when None)."""
    identity = clinic.stores[who].device_identity()
    assert identity is not None
    body = {"checker": checker, "public_key": public_key}
    if code is not None:
        body["code"] = code
    return await clinic.http.post(
        clinic.server.url + "/checkers",
        json=body,
        headers={"Authorization": f"Bearer {identity.token}"},
    )


def code_state(clinic: Clinic, user: str) -> list[tuple[int, bool]]:
    """(tries, used) of each checker code issued to `user`, oldest first."""
    engine = make_engine(clinic.settings)
    try:
        with transaction(engine) as session:
            rows = session.exec(
                select(CheckerCode)
                .where(col(CheckerCode.user_name) == user)
                .order_by(col(CheckerCode.created_at))
            ).all()
            return [(row.tries, row.used_at is not None) for row in rows]
    finally:
        engine.dispose()


def filed(clinic: Clinic) -> list[tuple[str, str, str]]:
    """(checker, filed by, public key) of every checker key the clinic holds."""
    engine = make_engine(clinic.settings)
    try:
        with transaction(engine) as session:
            rows = session.exec(select(CheckerKey)).all()
            return [(r.checker, r.filed_by, r.public_key) for r in rows]
    finally:
        engine.dispose()
