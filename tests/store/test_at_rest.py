"""Nothing readable at rest: canary scan of every file the store wrote, and no key in any file
(SECURITY.md 1 as it applies to the store, and 4)."""

from __future__ import annotations

import importlib.util
import shutil
import uuid
from datetime import date
from pathlib import Path

import pytest

from fieldapp.store import Store
from sync.outbox import DeviceIdentity, PushOutcome
from sync.records import Diagnosis
from tests.store.factory import (
    DEVICE_SAMPLE_KINDS,
    PASSPHRASE,
    FakeClock,
    address,
    device_record,
    patient,
    server_head,
    visit,
)
from tests.store.scan import hits, key_forms, store_files, text_forms

CANARIES = {
    "name": "Quillon Zephyrine Marchbanks",
    "street": "7713 Fernwhistle Avenue NE",
    "phone": "(206) 555-0147",
    "diagnosis": "Vantablack hollow melancholia",
    "medication": "zorquetamine 40 mg nightly",
    "note": "described the lighthouse keeper dream again",
    "incident": "spilled the amber vial near the piano",
    "draft": "halfway through the cormorant story",
    "token": "tok-canary-3f9a1c77",
    "reason": "refused because of the pelican rule",
}


def _canary_day(store: Store) -> None:
    person = patient(
        name=CANARIES["name"],
        phone=CANARIES["phone"],
        address=address(street=CANARIES["street"]),
        diagnoses=[Diagnosis(code="Z99.9", name=CANARIES["diagnosis"])],
        medications=[CANARIES["medication"]],
    )
    store.put_server_records([person, visit(person.id, address=address(street=CANARIES["street"]))])
    for i, kind in enumerate(DEVICE_SAMPLE_KINDS):
        text = CANARIES["incident"] if kind == "incident" else CANARIES["note"]
        store.save(device_record(kind, person.id, minutes=i, text=text))
    store.save_draft(
        f"note:{person.id}", {"subjective": CANARIES["draft"], "who": CANARIES["name"]}
    )
    store.save_device_identity(
        DeviceIdentity("https://clinic.example.org", "dev-1", CANARIES["token"])
    )
    store.acknowledge([PushOutcome(1, "rejected", CANARIES["reason"])], server_head(store, 1))


def _snapshot(path: Path, into: Path) -> list[Path]:
    """Copy every file the store has written right now (as a thief would)."""
    into.mkdir(exist_ok=True)
    copies = []
    for file in store_files(path):
        copies.append(Path(shutil.copy(file, into / file.name)))
    return copies


def test_scanner_finds_what_it_looks_for(tmp_path: Path) -> None:
    import base64

    sample = tmp_path / "plain.bin"
    name = CANARIES["name"]
    sample.write_bytes(
        b"xx"
        + name.lower().encode()
        + name.encode("utf-16-be")
        + base64.b64encode(b"z" + name.encode())
    )
    found = hits([sample], {"name": text_forms(name)})
    assert any("lower utf-8" in f for f in found)
    assert any("utf-16-be" in f for f in found)
    assert any("base64" in f for f in found)


def test_no_canary_in_any_file_while_open_and_after_close(
    store: Store, store_path: Path, tmp_path: Path
) -> None:
    _canary_day(store)
    needles = {label: text_forms(text) for label, text in CANARIES.items()}
    needles["passphrase"] = text_forms(PASSPHRASE)
    live = _snapshot(store_path, tmp_path / "live")
    assert any(p.name.endswith("-wal") for p in live)  # the WAL is scanned too
    assert hits(live, needles) == []
    store.lock()
    store.close()
    assert hits(store_files(store_path), needles) == []


def test_dek_and_kek_appear_in_no_file(store: Store, store_path: Path, tmp_path: Path) -> None:
    ring = store._ring
    assert ring is not None
    dek, kek = bytes(ring._dek), bytes(ring._kek)
    _canary_day(store)
    store.change_passphrase(PASSPHRASE, "another synthetic passphrase")
    ring = store._ring
    assert ring is not None
    new_kek = bytes(ring._kek)
    needles = {"DEK": key_forms(dek), "KEK": key_forms(kek), "new KEK": key_forms(new_kek)}
    assert hits(_snapshot(store_path, tmp_path / "live"), needles) == []
    store.close()
    assert hits(store_files(store_path), needles) == []


def test_each_clinician_has_an_own_store_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    from fieldapp.settings import StoreSettings

    alice_settings = StoreSettings(
        user="alice", kdf_memory_kib=19456, kdf_iterations=2, kdf_lanes=1
    )
    bob_settings = alice_settings.model_copy(update={"user": "bob"})
    alice_path, bob_path = alice_settings.resolved_path(), bob_settings.resolved_path()
    assert alice_path != bob_path and alice_path.parent == bob_path.parent
    alice = Store.create(
        alice_path, "alice synthetic passphrase", alice_settings, clock=FakeClock()
    )
    bob = Store.create(bob_path, "bob synthetic passphrase", bob_settings, clock=FakeClock())
    assert alice._ring is not None and bob._ring is not None
    assert bytes(alice._ring._dek) != bytes(bob._ring._dek)
    alice.close()
    bob.close()
    from fieldapp.errors import WrongPassphrase

    with Store.open(alice_path, alice_settings) as store, pytest.raises(WrongPassphrase):
        store.unlock("bob synthetic passphrase")
    with Store.open(bob_path, bob_settings) as store:
        store.unlock("bob synthetic passphrase")


@pytest.mark.skipif(importlib.util.find_spec("fieldapp.demo.seattle") is None, reason="no demo yet")
def test_no_demo_day_detail_in_any_file(store: Store, store_path: Path, tmp_path: Path) -> None:
    from fieldapp.demo.seattle import demo_day

    day = demo_day(date(2026, 5, 4))
    store.put_server_records([*day.patients, *day.visits])
    for i, person in enumerate(day.patients):
        store.save(device_record("note", person.id, minutes=i, text=f"session note {uuid.uuid4()}"))
    assert len(store.visits_for_day(date(2026, 5, 4))) == len(day.visits)
    needles: dict[str, dict[str, bytes]] = {}
    for person in day.patients:
        details = [person.display_name, person.phone, person.address.street]
        details += [d.name for d in person.diagnoses] + list(person.medications)
        details += list(person.conditions) + list(person.allergies)
        for detail in details:
            needles[detail] = text_forms(detail)
    for clinician in day.clinicians:
        needles[clinician.name] = text_forms(clinician.name)
    assert len(needles) > 60
    assert hits(_snapshot(store_path, tmp_path / "live"), needles) == []
    store.close()
    assert hits(store_files(store_path), needles) == []
