"""The encrypted offline store: key handling, encrypted records, drafts and the outbox.

Only `crypto.py` touches keys and ciphers; `store.Store` is the one entry point.
"""

from fieldapp.store.crypto import DEFAULT_KDF, OWASP_FLOOR, KdfParams
from fieldapp.store.outbox import SyncStatus
from fieldapp.store.records import RecordFailure, VerifyReport
from fieldapp.store.store import Store, StoreInfo

__all__ = [
    "DEFAULT_KDF",
    "OWASP_FLOOR",
    "KdfParams",
    "RecordFailure",
    "Store",
    "StoreInfo",
    "SyncStatus",
    "VerifyReport",
]
