"""The clinic's structured clinical record on the server: API, CSV import, versions kept,
carried to the laptop in the summary; and off-laptop tasks on the dispatch board.

Runs on SQLite and on PostgreSQL (tests/sync/conftest.py), with synthetic data only.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import select

from sync.records import PatientSummary, Task, TaskUpdate
from sync.server.db import transaction
from sync.server.models import AuditEvent, ClinicalEntry
from tests.dispatch.kit import all_keys
from tests.sync.clientkit import client_for, device_store
from tests.sync.conftest import TODAY, auth
from tests.sync.factories import World
from tests.sync.test_cli import run

RECORD = {
    "problems": [
        {"text": "Cirrhosis", "code_system": "icd10cm", "code": "K74.60", "status": "active"},
        {"text": "MI", "status": "history", "onset": "2024-10"},
    ],
    "allergies": [{"substance": "Ketamine", "reaction": "rash", "severity": "mild"}],
    "medications": [{"name": "Gabapentin", "dose": "300 mg TID"}],
    "labs": [{"test": "ALT", "value": 30, "upper_limit_normal": 40, "taken_on": "2030-02-20"}],
    "ecg_on": "2030-01-05",
    "cv_risk_factors": [{"text": "Smoker"}],
}


def _entries(world: World, patient: uuid.UUID) -> int:
    with transaction(world.engine) as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(ClinicalEntry)
                .where(ClinicalEntry.patient_id == str(patient))
            ).one()
        )


async def test_a_record_put_by_the_clinic_reaches_the_clinician_at_the_next_pull(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    patient = world.patients["a"].id
    url = f"/clinical/patients/{patient}/record"
    put = await api.put(url, json=RECORD, headers=auth(world, "root"))
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 1
    got = await api.get(url, headers=auth(world, "root"))
    assert got.json()["record"]["problems"][0]["code"] == "K74.60"
    assert got.json()["record"]["ecg_on"] == "2030-01-05"
    laptop = device_store(world, "a")
    await client_for(api, laptop).sync_once()
    summary = laptop.of_kind("patient")[patient]
    assert isinstance(summary, PatientSummary) and summary.record is not None
    assert [p.text for p in summary.record.problems] == ["Cirrhosis", "MI"]
    # A second version: the first stays in the table, the laptop gets the new one.
    again = await api.put(url, json={"problems": [{"text": "Asthma"}]}, headers=auth(world, "root"))
    assert again.json()["version"] == 2
    assert _entries(world, patient) == 7 + 1
    await client_for(api, laptop).sync_once()
    summary = laptop.of_kind("patient")[patient]
    assert isinstance(summary, PatientSummary) and summary.record is not None
    assert [p.text for p in summary.record.problems] == ["Asthma"]


async def test_only_the_admin_reads_or_writes_records(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    url = f"/clinical/patients/{world.patients['a'].id}/record"
    for who in ("a", "disp"):
        assert (await api.put(url, json=RECORD, headers=auth(world, who))).status_code == 403
        assert (await api.get(url, headers=auth(world, who))).status_code == 403
        imported = await api.post(
            "/clinical/import", content=b"patient_id,kind,text\n", headers=auth(world, who)
        )
        assert imported.status_code == 403
    assert (await api.put(url, json=RECORD)).status_code == 401
    unknown = f"/clinical/patients/{uuid.uuid4()}/record"
    assert (await api.put(unknown, json=RECORD, headers=auth(world, "root"))).status_code == 404
    assert (await api.get(url, headers=auth(world, "root"))).status_code == 404  # none yet


async def test_a_bad_record_is_refused_naming_the_field_and_nothing_is_stored(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    patient = world.patients["a"].id
    url = f"/clinical/patients/{patient}/record"
    for bad in (
        {"problems": [{"text": "Zebra distinctive text", "onset": "2026-13"}]},
        {"problems": [{"text": "Zebra distinctive text", "status": "sometimes"}]},
        {"problems": [{"text": "Zebra distinctive text"}], "smoker": True},
        {"labs": [{"test": "ALT", "value": float("inf"), "taken_on": "2030-01-01"}]},
    ):
        answer = await api.put(
            url,
            content=json.dumps(bad).encode(),
            headers={**auth(world, "root"), "content-type": "application/json"},
        )
        assert answer.status_code == 422, bad
        assert "Zebra distinctive" not in answer.text
    assert _entries(world, patient) == 0


def _csv(*rows: str) -> bytes:
    header = (
        "patient_id,kind,text,code_system,code,status,date,end_date,reaction,severity,"
        "value,unit,upper_limit_normal"
    )
    return "\n".join([header, *rows]).encode()


async def test_the_clinic_csv_imports_whole_records_or_nothing(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    a, b = world.patients["a"].id, world.patients["b"].id
    good = _csv(
        f"{a},problem,Cirrhosis,icd10cm,K74.60,active,2021,,,,,,",
        f"{a},allergy,Ketamine,,,,,,anaphylaxis,severe,,,",
        f"{a},lab,ALT,loinc,1742-6,,2030-02-20,,,,150,U/L,40",
        f"{a},ecg,ECG,,,,2030-01-05,,,,,,",
        f"{b},medication,Gabapentin,,,active,2029-05-01,,,,,,",
        f"{b},risk_factor,Smoker,,,,,,,,,,",
    )
    answer = await api.post("/clinical/import", content=good, headers=auth(world, "root"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"patients": 2, "entries": 6}
    record = (await api.get(f"/clinical/patients/{a}/record", headers=auth(world, "root"))).json()[
        "record"
    ]
    assert record["labs"][0]["upper_limit_normal"] == 40
    assert record["allergies"][0]["severity"] == "severe"
    assert record["ecg_on"] == "2030-01-05"
    before = _entries(world, a) + _entries(world, b)
    for bad, where in (
        (
            _csv(f"{a},problem,Fine,,,,,,,,,,", f"{a},problem,Zebra secret,snowmed,X1,,,,,,,,"),
            "line 3",
        ),
        (_csv(f"{a},problem,Zebra secret,,,,2026-13,,,,,,"), "line 2"),
        (_csv(f"{a},surgery,Zebra secret,,,,,,,,,,"), "line 2: kind"),
        (_csv("not-an-id,problem,Zebra secret,,,,,,,,,,"), "line 2: patient_id"),
        (_csv(f"{uuid.uuid4()},problem,Zebra secret,,,,,,,,,,"), "no such patient"),
        (b"patient_id,kind,text,secret_column\n", "unknown column"),
        (b"\xff\xfe not text", "not UTF-8"),
        # A bare carriage return inside an unquoted cell: the csv module raised, a 500.
        (_csv(f"{a},problem,Zebra\rsecret,,,,,,,,,,"), "line 2: not readable as CSV"),
    ):
        answer = await api.post("/clinical/import", content=bad, headers=auth(world, "root"))
        assert answer.status_code == 422, bad
        assert where in answer.text, answer.text
        assert "Zebra secret" not in answer.text
    assert _entries(world, a) + _entries(world, b) == before


async def test_record_calls_are_audited_with_ids_only(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    patient = world.patients["a"].id
    await api.put(f"/clinical/patients/{patient}/record", json=RECORD, headers=auth(world, "root"))
    with transaction(world.engine) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "put_clinical_record")
        ).all()
    assert [json.loads(e.detail) for e in events] == [{"patient": str(patient), "version": 1}]
    assert "Cirrhosis" not in events[0].detail


def _task(world: World, owner: str, action: str, due: datetime, text: str) -> Task:
    v = world.visits["a"]
    return Task(
        id=uuid.uuid4(),
        patient_id=v.patient_id,
        visit_id=v.id,
        recorded_at=due - timedelta(minutes=10),
        recorded_by="a",
        action=action,
        owner=owner,  # type: ignore[arg-type]
        text=text,
        rule_id="bp_pause_persisting",
        due_at=due,
    )


async def test_tasks_for_people_off_the_laptop_reach_the_board_without_their_reason(
    app: Any, world: World, api: httpx.AsyncClient, clock: Any
) -> None:
    noon = clock.now
    laptop = device_store(world, "a")
    late = _task(world, "prescriber", "notify_prescriber", noon - timedelta(minutes=5), "Call X")
    done = _task(world, "supervisor", "notify_supervisor", noon - timedelta(minutes=20), "Tell Y")
    soon = _task(world, "supervisor", "mental_health_referral", noon + timedelta(hours=1), "Z")
    mine = _task(world, "clinician", "antihypertensive", noon - timedelta(minutes=5), "Give W")
    for record in (late, done, soon, mine):
        laptop.write(record)
    laptop.write(
        TaskUpdate(
            id=uuid.uuid4(),
            patient_id=done.patient_id,
            visit_id=done.visit_id,
            recorded_at=noon - timedelta(minutes=25),
            recorded_by="a",
            task_id=done.id,
            status="done",
            at=noon - timedelta(minutes=25),
        )
    )
    await client_for(api, laptop).sync_once()
    answer = await api.get(
        "/dispatch/board", params={"date": TODAY.isoformat()}, headers=auth(world, "disp")
    )
    assert answer.status_code == 200
    board = answer.json()
    visit = next(c for c in board["clinicians"] if c["clinician_id"] == "a")["visits"][0]
    shown = {(t["action"], t["owner"], t["state"]) for t in visit["tasks"]}
    assert shown == {
        ("notify_prescriber", "prescriber", "overdue"),
        ("notify_supervisor", "supervisor", "done"),
        ("mental_health_referral", "supervisor", "open"),
    }
    assert not all_keys(board) & {"text", "rule_id"}
    assert not any(secret in answer.text for secret in ("Call X", "Give W", "bp_pause"))


def test_the_clinic_csv_through_the_command_line(
    db_url: str, world: World, tmp_path: Path, capsys: Any
) -> None:
    a = world.patients["a"].id
    path = tmp_path / "records.csv"
    path.write_bytes(_csv(f"{a},problem,Glaucoma,icd10cm,H40.9,controlled,,,,,,,"))
    status, out = run(capsys, "server", "--database-url", db_url, "import-records", str(path))
    assert status == 0 and "1 patients (1 entries)" in out
    path.write_bytes(_csv(f"{a},problem,Zebra secret,icd10cm,,bogus,,,,,,,"))
    status, out = run(capsys, "server", "--database-url", db_url, "import-records", str(path))
    assert status == 2 and "line 2" in out and "Zebra secret" not in out
    assert _entries(world, a) == 1
