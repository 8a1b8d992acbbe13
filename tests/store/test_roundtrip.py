"""Every record kind goes through the store and comes back equal, with its content hash."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.store import Store
from sync.outbox import PushOutcome
from sync.records import DEVICE_KINDS, RECORD_TYPES, Record
from tests.store.factory import FakeClock, new_store, server_head
from tests.store.strategies import BY_KIND


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = new_store(tmp_path_factory.mktemp("roundtrip") / "r.store", FakeClock())
    yield store
    store.close()


def test_every_record_kind_has_a_strategy() -> None:
    assert set(BY_KIND) == set(RECORD_TYPES)


@pytest.mark.parametrize("kind", sorted(RECORD_TYPES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_record_round_trips_through_the_store(
    shared: Store, kind: str, data: st.DataObject
) -> None:
    # Hypothesis repeats ids across examples; the shared store needs a new one each time.
    record: Record = data.draw(BY_KIND[kind]).model_copy(update={"id": uuid.uuid4()})
    if kind in DEVICE_KINDS:
        seq = shared.save(record)
        (item,) = shared.outbox_batch(10)  # earlier examples were acknowledged
        assert item.seq == seq
        assert item.record_id == record.id and item.kind == kind
        assert item.content_hash == record.content_hash()
        assert item.payload == record.model_dump(mode="json")
        shared.acknowledge([PushOutcome(seq, "applied")], server_head(shared, seq))
    else:
        assert shared.put_server_records([record]) == 1
    back = shared.get(kind, record.id)
    assert back == record
    assert back is not None and back.content_hash() == record.content_hash()
