"""Retention and purge over a recorded demo day: refused before retention or under a legal
hold; once due, the rows leave the server and the laptops, one audit record (ids and
counts, no content) tells of it, and the audit chain and the laptops' chains still verify."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from fieldapp.cli import main
from sync.client import enroll
from sync.outbox import push_body
from sync.server import audit
from sync.server.auth import create_enroll_code
from sync.server.db import transaction
from sync.server.models import (
    AuditEvent,
    Device,
    DeviceRecordRow,
    Patient,
    Receipt,
    ReviewItem,
    VisitRow,
)
from sync.server.purge import PurgeRefused, Selection, execute_purge, plan_purge
from sync.server.push import NOT_PURGED_HERE, PURGED_HERE
from sync.server.records_config import load_retention
from sync.server.retention import place_hold, release_hold
from tests.sync.clientkit import client_for, device_store
from tests.sync.conftest import auth
from tests.sync.factories import T0, World, vitals
from tests.sync.recorded import DAY, URL, Laptop, recorded_demo_day

ZONE = ZoneInfo("America/Los_Angeles")
DEA_DUE = DAY + timedelta(days=2 * 366)  # past the 2 years of DEA records, not clinical ones
ALL_DUE = DAY + timedelta(days=11 * 366)  # past the 10 years of clinical records


def count(app: Any, table: Any, **where: Any) -> int:
    with transaction(app.state.ctx.engine) as session:
        query = select(func.count()).select_from(table)
        for name, value in where.items():
            query = query.where(getattr(table, name) == value)
        return int(session.execute(query).scalar_one())


def purge(app: Any, selection: Selection, today: Any) -> Any:
    """Plan and carry out a purge as the command does, in one transaction."""
    ctx = app.state.ctx
    with transaction(ctx.engine) as session:
        plan = plan_purge(session, load_retention(), selection, today, ZONE)
        return execute_purge(session, plan, "cli", ctx.clock())


def audit_ok(app: Any) -> int:
    with transaction(app.state.ctx.engine) as session:
        entries, problem = audit.verify(session)
    assert problem is None, problem
    return entries


def years_later(app: Any, clock: Any, day: Any) -> None:
    """Move the server's clock to `day`; the laptops' tokens were renewed meanwhile (a
    token lives 180 days; these laptops stayed in service)."""
    clock.now += day - clock.now.date()
    with transaction(app.state.ctx.engine) as session:
        session.execute(update(Device).values(expires_at=clock.now.timestamp() + 86400))


def laptop_ids(laptop: Laptop, kind: str) -> set[str]:
    return {str(r.id) for r in laptop.store.records_of_kind(kind)}


async def test_a_purge_before_retention_or_under_hold_is_refused(
    app: Any, api: Any, tmp_path: Path, clock: Any
) -> None:
    await recorded_demo_day(app, api, tmp_path)
    before = count(app, DeviceRecordRow)
    # Not yet due: a month after the day, nothing is, and asking for it is refused.
    with pytest.raises(PurgeRefused, match="not yet due"):
        purge(app, Selection(before=DAY + timedelta(days=1)), DAY + timedelta(days=30))
    with pytest.raises(PurgeRefused, match="not yet due"):  # DEA records due, notes not
        purge(app, Selection(kinds=frozenset({"note", "substance"})), DEA_DUE)
    assert purge(app, Selection(), DAY + timedelta(days=30)).counts == {}  # plain: nothing due
    assert count(app, DeviceRecordRow) == before

    # Under hold: a patient, then a range of days.
    with transaction(app.state.ctx.engine) as session:
        held = (
            session.execute(
                select(DeviceRecordRow.patient_id).where(DeviceRecordRow.kind == "dose_admin")  # type: ignore[arg-type]
            )
            .scalars()
            .first()
        )
        place_hold(session, patient_id=held, from_day=None, to_day=None,
                          reason="Matter 2030-17", by="cli", now=0)  # fmt: skip
        days = place_hold(session, patient_id=None, from_day=DAY, to_day=DAY,
                          reason="Subpoena 88", by="cli", now=0)  # fmt: skip
    with pytest.raises(PurgeRefused, match="under legal hold"):
        purge(app, Selection(patient=held), ALL_DUE)
    done = purge(app, Selection(), ALL_DUE)  # the plain purge keeps what is held, and says so
    assert done.counts == {} and done.held == before + count(app, VisitRow)
    assert count(app, DeviceRecordRow) == before

    with transaction(app.state.ctx.engine) as session:
        release_hold(session, days.id, "cli", 1)
    done = purge(app, Selection(), ALL_DUE)
    assert count(app, DeviceRecordRow) == count(app, DeviceRecordRow, patient_id=held) > 0
    assert count(app, Patient, id=held) == 1 and done.held > 0
    assert audit_ok(app) > 0


async def test_a_due_purge_leaves_the_server_and_the_laptops_and_the_audit_verifies(
    app: Any, api: Any, tmp_path: Path, clock: Any
) -> None:
    laptops = await recorded_demo_day(app, api, tmp_path)
    ledger_ids = {lap.user: laptop_ids(lap, "substance") for lap in laptops}
    notes = {lap.user: laptop_ids(lap, "note") for lap in laptops}
    assert all(ledger_ids.values())

    # Two years on: the DEA records are due, the clinical ones are not.
    years_later(app, clock, DEA_DUE)
    done = purge(app, Selection(), DEA_DUE)
    assert set(done.counts) == {"substance", "day_close"}
    assert count(app, DeviceRecordRow, kind="substance") == 0
    assert count(app, DeviceRecordRow, kind="note") == sum(len(n) for n in notes.values())
    with transaction(app.state.ctx.engine) as session:
        (event,) = session.execute(
            select(AuditEvent).where(AuditEvent.action == "purge")  # type: ignore[arg-type]
        ).scalars()
    detail = json.loads(event.detail)
    assert detail["counts"] == done.counts and detail["purge"] == done.purge_id
    assert set(detail["ids"]["substance"]) == set().union(*ledger_ids.values())
    audit_ok(app)

    for laptop in laptops:
        report = await laptop.sync(api)
        assert report.removed >= len(ledger_ids[laptop.user])
        assert laptop_ids(laptop, "substance") == set() and "day_close" not in laptop.store.counts()
        assert laptop_ids(laptop, "note") == notes[laptop.user]
        check = laptop.store.verify()
        assert check.ok and check.chain_ok, check
        assert check.purged == len(ledger_ids[laptop.user]) + 1  # the ledger and the day's close
        assert laptop.store.pending_count() == 0  # nothing purged is sent again

    # Eleven years on: everything of the day, patients and visits too.
    years_later(app, clock, ALL_DUE)
    done = purge(app, Selection(), ALL_DUE)
    assert {"patient", "visit", "note", "vitals", "dose_admin"} <= set(done.counts)
    assert count(app, DeviceRecordRow) == 0 and count(app, Patient) == 0
    for laptop in laptops:
        await laptop.sync(api)
        # The clinic's protocol and the clinician's own credentials stay (kept current in
        # place, never purged by age).
        assert set(laptop.store.counts()) == {"protocol_doc", "clinician_profile"}
        check = laptop.store.verify()
        assert check.ok and check.purged > 0
        assert check.records_ok == sum(laptop.store.counts().values())
    # The audit holds ids and counts, never a patient's name or a note's words.
    with transaction(app.state.ctx.engine) as session:
        details = " ".join(session.execute(select(AuditEvent.detail)).scalars())  # type: ignore[call-overload]
    assert "Quillfeather" not in details and "nausea" not in details
    audit_ok(app)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_commands_hold_release_and_refuse(db_url: str, capsys: Any) -> None:
    base = ["server", "--database-url", db_url]
    assert main([*base, "hold", "add", "--from", "2030-03-01", "--to", "2030-03-31",
                 "--reason", "Matter 17"]) == 0  # fmt: skip
    hold_id = capsys.readouterr().out.split()[-1]
    assert main([*base, "hold", "list"]) == 0 and hold_id in capsys.readouterr().out
    assert main([*base, "hold", "add", "--from", "2030-03-31", "--to", "2030-03-01",
                 "--reason", "x"]) == 2  # fmt: skip
    assert "ends before it starts" in capsys.readouterr().err
    assert main([*base, "hold", "add", "--reason", "x"]) == 2
    assert "names a patient, a range of days, or both" in capsys.readouterr().err
    # Today is long before anything recorded in 2030 is due.
    assert main([*base, "purge", "--before", "2031-01-01", "--dry-run"]) == 0
    assert main([*base, "purge", "--kind", "nothing"]) == 2
    assert "unknown record kind" in capsys.readouterr().err
    assert main([*base, "hold", "release", hold_id]) == 0
    assert main([*base, "hold", "release", hold_id]) == 2
    assert "already released" in capsys.readouterr().err
    assert main([*base, "purge"]) == 0 and "purged" in capsys.readouterr().out


async def test_a_laptop_enrolled_again_sends_its_tombstones_as_purged_and_nothing_returns(
    app: Any, api: Any, tmp_path: Path, clock: Any
) -> None:
    """Enrolled again (a new device: every outbox entry is queued again), a laptop that
    dropped purged records sends each as a purge marker on its chain: the server keeps its
    place, stores nothing, and the laptop's chain and queue come out clean."""
    laptops = await recorded_demo_day(app, api, tmp_path)
    laptop = laptops[1]
    years_later(app, clock, DEA_DUE)
    purge(app, Selection(), DEA_DUE)
    await laptop.sync(api)
    tombstones = laptop.store.verify().purged
    assert tombstones > 0
    stored_before = count(app, DeviceRecordRow)

    ctx = app.state.ctx
    with transaction(ctx.engine) as session:
        code, _ = create_enroll_code(session, laptop.user, ctx.settings, ctx.now())
    await enroll(URL, code, laptop.store, http=api, device_name="c02 laptop again")
    assert laptop.store.pending_count() == laptop.store.chain_head().seq
    report = await laptop.sync(api)
    assert report.pending == 0 and report.set_aside == 0, report

    assert count(app, DeviceRecordRow) == stored_before  # no purged record came back
    assert count(app, DeviceRecordRow, kind="substance") == 0
    device = laptop.store.device_identity()
    assert device is not None
    with transaction(ctx.engine) as session:
        receipts = session.execute(
            select(Receipt.status, Receipt.reason).where(Receipt.device_id == device.device_id)  # type: ignore[call-overload]
        ).all()
    assert len(receipts) == laptop.store.chain_head().seq
    assert sum(reason == PURGED_HERE for _, reason in receipts) == tombstones
    assert {status for status, _ in receipts} == {"duplicate"}  # all held, or purged, here
    check = laptop.store.verify()
    assert check.ok and check.purged == tombstones


async def test_a_purge_marker_the_clinic_does_not_account_for_is_set_aside(
    app: Any, world: World, api: Any
) -> None:
    """A marker never stands in for a record: one for a record the server never had (nor
    purged) is set aside for review, and nothing is stored for it."""
    store = device_store(world, "a")
    p, v = world.patients["a"], world.visits["a"]
    for hr in (60, 61, 62):
        store.write(vitals(p.id, v.id, "a", hr=hr))
    await client_for(api, store).push()  # seq 1-3 held as sent
    for hr in (63, 64):
        store.write(vitals(p.id, v.id, "a", hr=hr))
    body = push_body(store.head, [store.items[s] for s in (4, 5)])
    body["items"][0].update(payload={}, withheld="purged")
    answer = await api.post("/sync/push", json=body, headers=auth(world, "a"))
    assert answer.status_code == 200, answer.text
    results = {r["seq"]: (r["status"], r["reason"]) for r in answer.json()["results"]}
    assert results == {4: ("rejected", NOT_PURGED_HERE), 5: ("applied", None)}
    assert answer.json()["head"]["seq"] == 5  # its place in the chain is kept
    assert count(app, DeviceRecordRow) == 4 and count(app, ReviewItem, seq=4) == 1

    # Enrolled again (a new device, no receipts yet): a marker for a record the server
    # holds as sent, same content, is answered as held, and nothing more is stored.
    with transaction(world.engine) as session:
        code, _ = create_enroll_code(session, "a", world.settings, T0)
    identity = await enroll(URL, code, store, http=api, device_name="a laptop again")
    body = push_body(store.head, [store.items[s] for s in (1, 2, 3)])
    body["items"][0].update(payload={}, withheld="purged")
    token = {"Authorization": f"Bearer {identity.token}"}
    again = await api.post("/sync/push", json=body, headers=token)
    assert again.status_code == 200, again.text
    assert [(r["status"], r["reason"]) for r in again.json()["results"]] == [
        ("duplicate", PURGED_HERE),
        ("duplicate", None),
        ("duplicate", None),
    ]
    assert count(app, DeviceRecordRow) == 4
