"""A writer the crash tests kill with SIGKILL at random moments.

python -m tests.store.crash_child write PATH PASSPHRASE SEED
    saves device records forever; prints each id after save()/save_many() returned
python -m tests.store.crash_child passwd PATH CURRENT OTHER
    swaps the passphrase back and forth forever; prints the new one after each change
"""

from __future__ import annotations

import random
import sys
import uuid
from pathlib import Path

from fieldapp.store import Store
from tests.store.factory import FAST, mixed_device_records


def write(path: Path, passphrase: str, seed: int) -> None:
    rng = random.Random(seed)
    store = Store.open(path, FAST)
    store.unlock(passphrase)
    patients = [uuid.uuid4() for _ in range(4)]
    print("ready", flush=True)
    while True:
        batch = mixed_device_records(rng, patients, rng.choice((1, 1, 1, 3, 8)))
        if len(batch) == 1:
            store.save(batch[0])
        else:
            store.save_many(batch)
        if rng.random() < 0.2:
            store.save_draft(f"draft-{rng.randrange(3)}", {"n": rng.random()})
        print(" ".join(f"{r.KIND}:{r.id}" for r in batch), flush=True)


def passwd(path: Path, current: str, other: str) -> None:
    store = Store.open(path, FAST)
    print("ready", flush=True)
    while True:
        store.change_passphrase(current, other)
        current, other = other, current
        print(current, flush=True)


if __name__ == "__main__":
    command, target, first, second = sys.argv[1:5]
    if command == "write":
        write(Path(target), first, int(second))
    else:
        passwd(Path(target), first, second)
