"""Launch to today's list in instructions, the app against a bare Textual app.

Wall-clock launch times on a shared machine swing by a third from one run to the next;
the instructions a launch executes do not. This runs `tui_bench.py`'s own child script
(the same five-year store, the same bare Textual baseline) under
`valgrind --tool=callgrind` and reads the total instructions of each. The app's child
unlocks the store first: the passphrase's Argon2 derivation (a configured cost, left out
of the wall-clock launch as well) is subtracted: the inclusive count of the outermost
function with "argon2" in its name (cryptography's `Argon2id.derive`, down to OpenSSL's
`kdf_argon2_derive`). Both counts include the interpreter's start and exit.

    .venv/bin/python benchmarks/launch_instructions.py [--rounds 1]

Needs valgrind. Each child takes a minute or two under callgrind. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tui_bench import build_store, write_child

KDF_FUNCTION = re.compile(r"argon2", re.IGNORECASE)
"""Functions whose inclusive cost is the key derivation (the outermost one is taken)."""


def instructions(kind: str, store_path: Path, script: Path, out: Path) -> tuple[int, int]:
    """(instructions of one child's whole run, of which its key derivation)."""
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            str(script),
            kind,
            str(store_path),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    total = 0
    for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            total = int(line.split()[1])
    annotated = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    kdf = 0
    for line in annotated.splitlines():
        parts = line.split()
        if len(parts) >= 2 and KDF_FUNCTION.search(line) and parts[0][0].isdigit():
            kdf = max(kdf, int(parts[0].replace(",", "")))
    return total, kdf


def main() -> None:
    """Build (once), count both children `--rounds` times, print the figures and JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "tui-bench")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    store_path = build_store(args.dir)
    script = write_child(args.dir)
    counts: dict[str, list[int]] = {"bare": [], "app": []}
    kdfs: list[int] = []
    for _ in range(args.rounds):
        for kind in ("bare", "app"):
            total, kdf = instructions(kind, store_path, script, args.dir / f"callgrind.{kind}")
            counts[kind].append(total - kdf)
            if kind == "app":
                kdfs.append(kdf)
    bare = statistics.median(counts["bare"])
    app = statistics.median(counts["app"])
    print(f"bare Textual  {bare / 1e6:,.0f} M instructions  {counts['bare']}")
    print(f"app           {app / 1e6:,.0f} M instructions  {counts['app']}")
    print(f"              (its key derivation, left out: {statistics.median(kdfs) / 1e6:,.0f} M)")
    print(f"ratio         {app / bare:.3f}")
    figures = {
        "bare_minstr": round(bare / 1e6),
        "app_minstr": round(app / 1e6),
        "kdf_minstr": round(statistics.median(kdfs) / 1e6),
        "launch_instr_ratio": round(app / bare, 3),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
