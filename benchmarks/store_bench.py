"""Store benchmark: saves and full loads of 10,000 mixed records, encrypted vs. not, and unlock.

The plain baseline runs the very same code path with a null cipher (a private constructor
argument only this benchmark passes; the app refuses such a store). Each figure is the best
of several rounds, encrypted and plain interleaved, so load from other processes hits both.

Saves are measured two ways:
- batched: `save_many` / `put_server_records`, one transaction (one fsync) per call; this is
  how records arrive in bulk (a pull page, the demo loader, a DEK rotation);
- single: `save` per record, one durable commit (fsync) each; this is what a clinician's
  form does, one record at a time, where the latency per save is what matters.
`save_per_s` in the JSON is the batched figure; the single-save rate and latency are given
beside it (`single_save_per_s`, `single_save_ms`).

    .venv/bin/python benchmarks/store_bench.py [--records 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fieldapp.settings import StoreSettings  # noqa: E402
from fieldapp.store import Store  # noqa: E402
from sync.records import Record  # noqa: E402
from tests.store.factory import DAY, mixed_device_records, patient, visit  # noqa: E402

PASSPHRASE = "benchmark synthetic passphrase"
FAST_KDF = StoreSettings(kdf_memory_kib=19456, kdf_iterations=2, kdf_lanes=1)
DEFAULT_KDF = StoreSettings()  # m = 64 MiB, t = 3, p = 4


def build_records(total: int, rng: random.Random) -> tuple[list[Record], list[Record]]:
    """(server records, device records): 4% patients, 16% visits, 80% clinical records."""
    people = [patient(name=f"Bench Person {i}") for i in range(max(1, total // 25))]
    visits = [
        visit(rng.choice(people).id, order=i % 8, day=DAY if i % 4 else date(2026, 5, 5))
        for i in range(total // 6)
    ]
    server: list[Record] = [*people, *visits]
    device = mixed_device_records(rng, [p.id for p in people], total - len(server))
    return server, device


def _fresh(directory: Path, plain: bool) -> Store:
    path = directory / f"{'plain' if plain else 'aes'}-{uuid.uuid4().hex[:8]}.store"
    return Store.create(path, PASSPHRASE, FAST_KDF, _null_cipher=plain)


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def batched_round(
    directory: Path, server: list[Record], device: list[Record], plain: bool
) -> tuple[float, float, Store]:
    """(save seconds, full load seconds) with batched saves; returns the filled store."""
    store = _fresh(directory, plain)
    save_s = _timed(lambda: (store.put_server_records(server), store.save_many(device)))
    load_s = _timed(store.load_all)
    return save_s, load_s, store


def single_round(directory: Path, device: list[Record], plain: bool) -> float:
    """Seconds for one durable `save` per record."""
    store = _fresh(directory, plain)
    seconds = _timed(lambda: [store.save(record) for record in device])
    store.close()
    return seconds


def visit_query_ms(directory: Path, rng: random.Random, rounds: int) -> tuple[float, float, int]:
    """(blind-index query ms, decrypt-every-visit ms, visits that day) over 2,500 visits."""
    people = [patient(name=f"Visit Person {i}") for i in range(100)]
    days = [date(2026, 5, 1 + d) for d in range(20)]
    visits = [visit(rng.choice(people).id, order=i % 8, day=days[i % 20]) for i in range(2_500)]
    store = _fresh(directory, plain=False)
    store.put_server_records([*people, *visits])
    indexed = min(_timed(lambda: store.visits_for_day(days[0])) for _ in range(rounds))
    scan = min(
        _timed(lambda: [r for r in store.load_all() if getattr(r, "scheduled_on", None) == days[0]])
        for _ in range(rounds)
    )
    count = len(store.visits_for_day(days[0]))
    store.close()
    return indexed * 1000, scan * 1000, count


def unlock_seconds(directory: Path, rounds: int) -> float:
    """Median unlock time with the default Argon2id parameters."""
    path = directory / "unlock.store"
    Store.create(path, PASSPHRASE, DEFAULT_KDF).close()
    times = []
    for _ in range(rounds):
        with Store.open(path, DEFAULT_KDF) as store:
            times.append(_timed(lambda s=store: s.unlock(PASSPHRASE)))  # type: ignore[misc]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=2_000, help="records for single saves")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(2026)
    server, device = build_records(args.records, rng)
    total = len(server) + len(device)
    single = device[: args.single]
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for round_no in range(args.rounds):
            for plain in (False, True) if round_no % 2 == 0 else (True, False):
                mode = "plain" if plain else "aes"
                save_s, load_s, store = batched_round(directory, server, device, plain)
                store.close()
                single_s = single_round(directory, single, plain)
                for key, value in (("save", save_s), ("load", load_s), ("single", single_s)):
                    best[f"{key}_{mode}"] = min(best.get(f"{key}_{mode}", 1e9), value)
        indexed_ms, scan_ms, visits_today = visit_query_ms(directory, rng, args.rounds)
        unlock_s = unlock_seconds(directory, args.rounds + 2)
    print(f"records: {total} ({len(server)} server, {len(device)} device); best of {args.rounds}")
    print(f"batched save   aes {best['save_aes']:.3f} s   plain {best['save_plain']:.3f} s")
    print(f"full load      aes {best['load_aes']:.3f} s   plain {best['load_plain']:.3f} s")
    print(
        f"single saves   aes {best['single_aes']:.3f} s   plain {best['single_plain']:.3f} s"
        f"   ({len(single)} durable commits)"
    )
    print(
        f"one day's visits ({visits_today} of 2,500): blind index {indexed_ms:.1f} ms,"
        f" decrypting every visit {scan_ms:.1f} ms"
    )
    print(f"unlock (Argon2id m=64 MiB t=3 p=4): {unlock_s:.3f} s")
    result = {
        "save_per_s": round(total / best["save_aes"]),
        "load_10k_s": round(best["load_aes"] * 10_000 / total, 3),
        "save_ratio": round(best["save_aes"] / best["save_plain"], 3),
        "load_ratio": round(best["load_aes"] / best["load_plain"], 3),
        "unlock_s": round(unlock_s, 3),
        "save_basis": "batched: save_many, one transaction",
        "single_save_per_s": round(len(single) / best["single_aes"]),
        "single_save_ms": round(best["single_aes"] / len(single) * 1000, 3),
        "single_save_ratio": round(best["single_aes"] / best["single_plain"], 3),
        "visits_for_day_ms": round(indexed_ms, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
