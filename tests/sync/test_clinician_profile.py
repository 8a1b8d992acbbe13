"""Clinician profiles over real HTTP (uvicorn on loopback): an admin sets a clinician's
credentials, refused input changes nothing, and the clinician's laptop (the real
encrypted store) pulls its own profile and no one else's; the manifest lists it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import select

from fieldapp.cli import main
from sync.client import enroll
from sync.records import ClinicianProfile, ShiftCheck
from sync.server.auth import create_enroll_code
from sync.server.db import transaction
from sync.server.models import AuditEvent, DeviceRecordRow
from tests.store.factory import new_store
from tests.sync.clientkit import client_for, reopened
from tests.sync.factories import World
from tests.sync.live import LiveServer


def _auth(world: World, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[who]}"}


def _url(server: LiveServer, who: str) -> str:
    return f"{server.url}/admin/clinicians/{who}/profile"


async def test_an_admin_sets_a_profile_and_the_clinician_pulls_it(
    db_url: str, live_world: World, tmp_path: Path
) -> None:
    world = live_world
    with LiveServer(db_url) as server:
        async with httpx.AsyncClient(timeout=10) as http:
            root = _auth(world, "root")
            assert (await http.get(_url(server, "a"), headers=root)).status_code == 404
            body = {
                "acls_expires": "2031-01-31",
                "licence_active": True,
                "licence_expires": "2032-06-30",
                "prescriber": "Dr. Test Prescriber",
                "prescriber_dea_states": ["WA", "OR"],
            }
            put = await http.put(_url(server, "a"), json=body, headers=root)
            assert put.status_code == 200, put.text
            made = ClinicianProfile.model_validate(put.json())
            assert made.version == 1 and made.updated_by == "root"
            assert made.acls_expires == date(2031, 1, 31) and made.prescriber_dea_states == [
                "WA",
                "OR",
            ]

            # Only the fields sent change; a new version, a new "who and when".
            again = await http.put(_url(server, "a"), json={"licence_active": False}, headers=root)
            changed = ClinicianProfile.model_validate(again.json())
            assert changed.version == 2 and not changed.licence_active
            assert changed.acls_expires == made.acls_expires
            same = await http.put(_url(server, "a"), json={"licence_active": False}, headers=root)
            assert ClinicianProfile.model_validate(same.json()).version == 2  # nothing changed

            # The clinician's laptop pulls it into the encrypted store.
            with transaction(world.engine) as session:
                code, _ = create_enroll_code(
                    session, "a", world.settings, datetime.now(UTC).timestamp()
                )
            store = new_store(tmp_path / "a.store")
            await enroll(server.url, code, store, http=http, device_name="a laptop")
            # The day's start-of-shift check goes up with the same sync (no patient in it).
            check = ShiftCheck(
                id=uuid.uuid4(),
                recorded_at=datetime.now(UTC),
                recorded_by="a",
                day=datetime.now(UTC).date(),
                answers={"aed": True, "oxygen": True},
                templates=["equipment@1"],
            )
            store.save(check)
            report = await client_for(http, store).sync_once()
            assert report.pushed == {"applied": 1}
            [held] = store.records_of_kind("clinician_profile")
            assert isinstance(held, ClinicianProfile)
            assert held == changed
            # The manifest listed it: a reopened store finds nothing missing.
            store = reopened(store)
            assert store.unlock_findings == ()

            # A later change reaches the laptop at its next sync.
            await http.put(_url(server, "a"), json={"licence_active": True}, headers=root)
            await client_for(http, store).sync_once()
            [held] = store.records_of_kind("clinician_profile")
            assert isinstance(held, ClinicianProfile) and held.version == 3
            store.close()

            # Clinician b's laptop never receives a's profile.
            with transaction(world.engine) as session:
                code, _ = create_enroll_code(
                    session, "b", world.settings, datetime.now(UTC).timestamp()
                )
            other = new_store(tmp_path / "b.store")
            await enroll(server.url, code, other, http=http, device_name="b laptop")
            await client_for(http, other).sync_once()
            assert other.records_of_kind("clinician_profile") == []
            other.close()
    with transaction(world.engine) as session:
        actions = session.exec(select(AuditEvent.action)).all()
        pushed = session.exec(
            select(DeviceRecordRow).where(DeviceRecordRow.kind == "shift_check")
        ).all()
    assert actions.count("put_clinician_profile") == 4
    assert [(row.id, row.user_name, row.patient_id) for row in pushed] == [
        (str(check.id), "a", None)
    ]


async def test_bad_profiles_and_other_roles_are_refused(db_url: str, live_world: World) -> None:
    world = live_world
    with LiveServer(db_url) as server:
        async with httpx.AsyncClient(timeout=10) as http:
            root = _auth(world, "root")
            for bad in (
                {"acls_expires": "31/01/2031"},
                {"prescriber_dea_states": ["Washington"]},
                {"licence_active": "maybe"},
                {"favourite_colour": "blue"},
            ):
                answer = await http.put(_url(server, "a"), json=bad, headers=root)
                assert answer.status_code == 422, bad
            # A dispatcher or the clinician themself cannot set credentials.
            for who in ("disp", "a"):
                answer = await http.put(
                    _url(server, "a"), json={"licence_active": True}, headers=_auth(world, who)
                )
                assert answer.status_code == 403
            # Only clinicians have a profile.
            answer = await http.put(
                _url(server, "disp"), json={"licence_active": True}, headers=root
            )
            assert answer.status_code == 422 and "no clinician" in answer.text
            assert (await http.get(_url(server, "a"), headers=root)).status_code == 404


def test_the_cli_sets_and_shows_a_profile(db_url: str, live_world: World, capsys: Any) -> None:
    srv = ["server", "--database-url", db_url, "clinician", "profile"]
    status = main([*srv, "a", "--acls-expires", "2031-01-31", "--licence-active", "yes"])
    out = capsys.readouterr().out
    assert status == 0 and "ACLS expires      2031-01-31" in out and "set by cli" in out
    status = main([*srv, "a", "--prescriber-dea-states", "wa,or"])
    out = capsys.readouterr().out
    assert status == 0 and "prescriber DEA    WA, OR" in out and "version 2" in out
    assert "2031-01-31" in out  # the other fields stayed
    # Wrong input: a clear message, nothing changed.
    assert main([*srv, "a", "--acls-expires", "next year"]) != 0
    err = capsys.readouterr().err
    assert "YYYY-MM-DD" in err and "Traceback" not in err
    assert main([*srv, "a"]) == 0
    assert "version 2" in capsys.readouterr().out
