"""FHIR export benchmark: 100,000 device records exported as FHIR R4 NDJSON, against the
same-run baseline of writing the same rows as plain JSON lines.

The records are real ones: the synthetic demo day is recorded through the services on
each clinician's store (check-in, checklist, dose, infusion readings, recovery, signed note,
the ledger), then copied with fresh ids (every UUID mapped consistently, patients and
visits too) until there are 100,000, and loaded into a migrated SQLite server database.

Both runs read the same rows from the database (device records, patients, visits) and
write one file set: the FHIR run maps each to its resources (`sync.server.fhir`), the
baseline writes each row's JSON as a line. The two run back to back in each round (their
order alternating), so load from other processes hits both alike: the time is the best
round's, the ratio the median of the rounds' own ratios (this machine's 2 cores are shared,
and a round's absolute times swing with the load).

    .venv/bin/python benchmarks/fhir_bench.py [--records 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from fieldapp.demo.recorded import record_day  # noqa: E402
from fieldapp.demo.seattle import SEATTLE, demo_day  # noqa: E402
from fieldapp.services.clock import ManualClock  # noqa: E402
from fieldapp.services.context import AppServices  # noqa: E402
from fieldapp.settings import Settings  # noqa: E402
from fieldapp.store import Store  # noqa: E402
from sync.records import DEVICE_KINDS  # noqa: E402
from sync.server import crud  # noqa: E402
from sync.server.config import load_server_settings  # noqa: E402
from sync.server.db import make_engine, transaction  # noqa: E402
from sync.server.fhir.codes import Codes  # noqa: E402
from sync.server.fhir.export import Window, resources  # noqa: E402
from sync.server.fhir.output import write_ndjson  # noqa: E402
from sync.server.migrate import migrate  # noqa: E402
from sync.server.models import DeviceRecordRow, Patient, VisitRow  # noqa: E402
from sync.server.records_config import load_fhir  # noqa: E402
from sync.server.schemas import CONTACT_FIELDS  # noqa: E402

DAY = date(2030, 3, 4)
UUID_RE = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
COPY = uuid.UUID("0d3c5b1e-2a4f-4c6d-8e9f-1a2b3c4d5e6f")


def recorded_day(folder: Path) -> list[tuple[str, str, bytes]]:
    """(kind, clinician, JSON) of every device record of the demo day, as laptops made them."""
    day = demo_day(DAY)
    found = []
    for clinician in day.clinicians:
        settings = Settings.model_validate(
            {"store": {"user": clinician.id, "path": str(folder / f"{clinician.id}.store"),
                       "kdf_memory_kib": 19456, "kdf_iterations": 2, "kdf_lanes": 1}}
        )  # fmt: skip
        store = Store.create(folder / f"{clinician.id}.store", "bench passphrase", settings.store)
        visits = day.visits_for(clinician.id)
        ids = {v.patient_id for v in visits}
        store.put_server_records([p for p in day.patients if p.id in ids])
        store.put_server_records(visits)
        clock = ManualClock(datetime(DAY.year, DAY.month, DAY.day, 7, 30, tzinfo=SEATTLE))
        services = AppServices(store, settings, clock=clock)
        record_day(services, clock, visits)
        found += [
            (r.KIND, clinician.id, r.canonical_json())
            for r in store.load_all()
            if r.KIND in DEVICE_KINDS
        ]
        store.close()
    return found


def _copy(text: bytes, n: int) -> bytes:
    """The JSON with every UUID mapped to its n-th copy (the same one everywhere)."""
    if n == 0:
        return text
    return UUID_RE.sub(lambda m: str(uuid.uuid5(COPY, f"{m[0].decode()}/{n}")).encode(), text)


def load(url: str, day: list[tuple[str, str, bytes]], total: int) -> int:
    """Copies of the day (with their patients and visits) until `total` device records."""
    settings = load_server_settings(database_url=url)
    engine = make_engine(settings)
    demo = demo_day(DAY)
    copies = -(-total // len(day))
    now = datetime.now(UTC).timestamp() - 3600
    rows = 0
    with transaction(engine) as session:
        for clinician in demo.clinicians:
            crud.add_user(session, clinician.id, "clinician", now, clinician.name)
        for n in range(copies):
            for p in demo.patients:
                session.add(_patient_row(p.model_dump_json().encode(), n, now))
            for v in demo.visits:
                session.add(_visit_row(v, n, now))
            batch = []
            for kind, clinician, text in day[: total - rows]:
                record = orjson.loads(_copy(text, n))
                batch.append(
                    {"id": record["id"], "kind": kind, "device_id": f"device-{clinician}",
                     "user_name": clinician, "patient_id": record.get("patient_id"),
                     "visit_id": record.get("visit_id"), "seq": rows + len(batch) + 1,
                     "content_hash": "0" * 64, "payload": _copy(text, n).decode(),
                     "received_at": now}
                )  # fmt: skip
            session.execute(insert(DeviceRecordRow), batch)
            rows += len(batch)
            session.flush()
    engine.dispose()
    return rows


def _patient_row(text: bytes, n: int, now: float) -> Patient:
    data = orjson.loads(_copy(text, n))
    contact = {k: v for k, v in data.items() if k in CONTACT_FIELDS}
    clinical = {k: v for k, v in data.items() if k not in CONTACT_FIELDS | {"id", "version"}}
    return Patient(
        id=data["id"], contact=json.dumps(contact), clinical=json.dumps(clinical),
        change_seq=0, updated_at=now,
    )  # fmt: skip


def _visit_row(visit: Any, n: int, now: float) -> VisitRow:
    data = orjson.loads(_copy(visit.model_dump_json().encode(), n))
    return VisitRow(
        id=data["id"], patient_id=data["patient_id"], clinician_id=data["clinician_id"],
        scheduled_on=visit.scheduled_on, status=data["status"], version=1,
        payload=json.dumps(data), change_seq=0, updated_at=now,
    )  # fmt: skip


def fhir_run(url: str, out: Path) -> float:
    """Seconds to export everything as FHIR NDJSON (what `export fhir` does)."""
    engine = make_engine(load_server_settings(database_url=url))
    codes = Codes(load_fhir())
    started = time.perf_counter()
    with transaction(engine) as session:
        window = Window(None, datetime.now(UTC))
        write_ndjson(resources(session, codes, window), out, window.until)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def json_run(url: str, out: Path) -> float:
    """Seconds to write the same rows as plain JSON lines (the baseline)."""
    engine = make_engine(load_server_settings(database_url=url))
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    with transaction(engine) as session, (out / "records.jsonl").open("wb") as handle:
        conn = session.connection()
        for table, columns in (
            (DeviceRecordRow, ("kind", "patient_id", "payload")),
            (Patient, ("id", "contact", "clinical")),
            (VisitRow, ("id", "payload")),
        ):
            statement = select(*(getattr(table, c) for c in columns))
            for row in conn.execution_options(yield_per=2000).execute(statement):
                handle.write(orjson.dumps(_plain(columns, row), option=orjson.OPT_APPEND_NEWLINE))
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def _plain(columns: tuple[str, ...], row: Any) -> dict[str, Any]:
    """A row as JSON: its stored JSON columns parsed, the rest as they are."""
    return {
        c: orjson.loads(v) if c in ("payload", "contact", "clinical") and v else v
        for c, v in zip(columns, row, strict=True)
    }


def main() -> None:
    """Build the records, time both exports, print the figures and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'server.db'}"
        migrate(url)
        started = time.perf_counter()
        day = recorded_day(folder)
        rows = load(url, day, args.records)
        print(f"recorded day: {len(day)} device records; loaded {rows} "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        fhir_s, json_s = [], []
        for n in range(args.rounds):
            if n % 2:
                fhir_s.append(fhir_run(url, folder / f"fhir-{n}"))
                json_s.append(json_run(url, folder / f"json-{n}"))
            else:
                json_s.append(json_run(url, folder / f"json-{n}"))
                fhir_s.append(fhir_run(url, folder / f"fhir-{n}"))
            print(
                f"round {n + 1}: FHIR {fhir_s[-1]:.2f} s, plain JSON {json_s[-1]:.2f} s, "
                f"ratio {fhir_s[-1] / json_s[-1]:.2f}"
            )
        manifest = json.loads((folder / "fhir-0" / "manifest.json").read_text())
        made = {o["type"]: o["count"] for o in manifest["output"]}
        print(f"resources: {made} ({sum(made.values())} in all)")
    ratio = statistics.median(f / j for f, j in zip(fhir_s, json_s, strict=True))
    print(json.dumps({
        "fhir_export_100k_s": round(min(fhir_s), 2),
        "json_100k_s": round(min(json_s), 2),
        "fhir_over_json_ratio": round(ratio, 2),
        "fhir_rounds_s": [round(f, 2) for f in fhir_s],
        "records": rows,
        "resources": sum(made.values()),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
