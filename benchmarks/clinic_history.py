"""A clinic's history, bulk-loaded for the sync benchmark: years of past visits, their
patients, reassignments and the records devices sent, written with COPY (never through the
API, which would take hours for a million rows).

The history is older than everything the seeded world holds: its rows get the lowest change
numbers and the world's are moved above them, as years of work would leave a database.
The visits are shared among the world's clinicians (the measured one among them) and a
twentieth lie after the pull window, so a query that reads a clinician's whole history,
or scans by change number alone, pays for it.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import date, timedelta
from typing import Any

import orjson
import psycopg

# Shares of the history by table (the rest are device records).
PATIENTS, VISITS, EXITS = 0.10, 0.40, 0.05


def _ids(rng: random.Random, count: int) -> list[str]:
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]


def load_history(
    dsn: str, schema: str, count: int, clinicians: list[str], today: date, seed: int = 14
) -> dict[str, int]:
    """Add `count` rows of history to a seeded, migrated database; how many of each."""
    rng = random.Random(seed)
    n_patients = max(1, int(count * PATIENTS))
    n_visits = int(count * VISITS)
    n_exits = int(count * EXITS)
    n_records = count - n_patients - n_visits - n_exits
    with psycopg.connect(dsn, options=f"-c search_path={schema}") as conn:
        contact, clinical = conn.execute("SELECT contact, clinical FROM patient LIMIT 1").fetchone()  # type: ignore[misc]
        visit_payload = orjson.loads(
            conn.execute("SELECT payload FROM visit LIMIT 1").fetchone()[0]
        )  # type: ignore[index]
        # the world's change numbers move above the history's
        conn.execute("UPDATE visit SET change_seq = change_seq + %s", (count,))
        conn.execute("UPDATE patient SET change_seq = change_seq + %s", (count,))
        conn.execute("UPDATE protocol_doc SET change_seq = change_seq + %s", (count,))
        conn.execute("UPDATE change_counter SET value = value + %s WHERE id = 1", (count,))
        change = iter(range(1, count + 1))
        patients = _ids(rng, n_patients)
        with conn.cursor().copy(
            "COPY patient (id, version, contact, clinical, change_seq, updated_at) FROM STDIN"
        ) as copy:
            for pid in patients:
                copy.write_row((pid, 1, contact, clinical, next(change), 0.0))
        visits = _visits(conn, rng, n_visits, patients, clinicians, today, visit_payload, change)
        with conn.cursor().copy(
            "COPY visit_exit (seq, visit_id, clinician_id, patient_id) FROM STDIN"
        ) as copy:
            for _ in range(n_exits):
                visit_id, patient_id, _who = rng.choice(visits)
                copy.write_row((next(change), visit_id, rng.choice(clinicians), patient_id))
        _device_records(conn, rng, n_records, visits)
        conn.commit()
    # outside the transaction: the planner must know the tables' new sizes
    with psycopg.connect(dsn, options=f"-c search_path={schema}", autocommit=True) as conn:
        conn.execute("ANALYZE")
    return {
        "patients": n_patients,
        "visits": n_visits,
        "visit_exits": n_exits,
        "device_records": n_records,
    }


def _visits(
    conn: psycopg.Connection[Any],
    rng: random.Random,
    count: int,
    patients: list[str],
    clinicians: list[str],
    today: date,
    payload: dict[str, Any],
    change: Any,
) -> list[tuple[str, str, str]]:
    """Past visits (a twentieth after the window), as (id, patient, clinician)."""
    made: list[tuple[str, str, str]] = []
    columns = "id, patient_id, clinician_id, scheduled_on, status, version, payload"
    with conn.cursor().copy(f"COPY visit ({columns}, change_seq, updated_at) FROM STDIN") as copy:
        for visit_id in _ids(rng, count):
            patient_id, who = rng.choice(patients), rng.choice(clinicians)
            if rng.random() < 0.05:
                on = today + timedelta(days=rng.randint(30, 365))
                status = "scheduled"
            else:
                on = today - timedelta(days=rng.randint(1, 3650))
                status = "completed"
            body = {
                **payload,
                "id": visit_id,
                "patient_id": patient_id,
                "clinician_id": who,
                "scheduled_on": on.isoformat(),
                "status": status,
            }
            copy.write_row(
                (
                    visit_id,
                    patient_id,
                    who,
                    on,
                    status,
                    1,
                    orjson.dumps(body).decode(),
                    next(change),
                    0.0,
                )
            )
            made.append((visit_id, patient_id, who))
    return made


def _device_records(
    conn: psycopg.Connection[Any],
    rng: random.Random,
    count: int,
    visits: list[tuple[str, str, str]],
) -> None:
    """Vitals readings sent by 50 past devices about the history's visits."""
    devices = _ids(rng, 50)
    seqs = dict.fromkeys(devices, 0)
    template = {
        "schema_version": 1,
        "recorded_at": "2029-03-04T10:00:00Z",
        "phase": "pre",
        "taken_at": "2029-03-04T10:00:00Z",
        "systolic_mmhg": 120,
        "diastolic_mmhg": 80,
        "heart_rate_bpm": 72,
        "spo2_pct": 98,
        "spo2_low_seconds": None,
        "resp_rate_per_min": 14,
        "temperature_c": None,
        "rass": 0,
        "symptoms": [],
        "on_oxygen": False,
        "cadss_items": [],
        "cadss_total": None,
        "judgement": None,
        "reasons": [],
    }
    columns = "id, kind, device_id, user_name, patient_id, visit_id, seq, content_hash, payload"
    with conn.cursor().copy(
        f"COPY device_record ({columns}, received_at, after_revocation) FROM STDIN"
    ) as copy:
        for record_id in _ids(rng, count):
            device = rng.choice(devices)
            seqs[device] += 1
            visit_id, patient_id, who = rng.choice(visits) if visits else (None, None, "a")
            body = orjson.dumps(
                {
                    **template,
                    "id": record_id,
                    "patient_id": patient_id,
                    "visit_id": visit_id,
                    "recorded_by": who,
                },
                option=orjson.OPT_SORT_KEYS,
            )
            copy.write_row(
                (
                    record_id,
                    "vitals",
                    device,
                    who,
                    patient_id,
                    visit_id,
                    seqs[device],
                    hashlib.sha256(body).hexdigest(),
                    body.decode(),
                    0.0,
                    False,
                )
            )
