"""The store fits the shapes its users declare: the sync client's `SyncStore` and the app's port."""

from __future__ import annotations

import inspect

import pytest

from fieldapp.services.ports import StorePort
from fieldapp.store import Store
from sync.client import SyncStore


def as_sync_store(store: Store) -> SyncStore:
    """Checked by mypy: a Store is a SyncStore."""
    return store


def as_store_port(store: Store) -> StorePort:
    """Checked by mypy: a Store is what the app's services expect."""
    return store


def _protocol_methods(protocol: type) -> list[str]:
    return [
        name
        for name, value in vars(protocol).items()
        if callable(value) and not name.startswith("_")
    ]


@pytest.mark.parametrize("name", _protocol_methods(SyncStore))
def test_store_has_each_sync_store_method_with_the_same_parameters(name: str) -> None:
    wanted = list(inspect.signature(getattr(SyncStore, name)).parameters)
    have = list(inspect.signature(getattr(Store, name)).parameters)
    assert have[: len(wanted)] == wanted
