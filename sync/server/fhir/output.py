"""Writing an export: NDJSON per resource type with a manifest (as FHIR Bulk Data does),
or one Bundle per patient. Files are created readable by their owner only (0600).

`Tally` counts what went out, by resource type and patient: the audit event of an export
holds these counts, never a resource's content.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from sync.server.fhir.codes import Codes, derived_id

Pair = tuple[str, dict[str, Any]]


@dataclass
class Tally:
    """How many resources of each type went out, for how many patients."""

    by_type: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    patients: set[str] = field(default_factory=set)

    def count(self, pairs: Iterable[Pair]) -> Iterator[Pair]:
        """Pass the pairs through, counting them."""
        for patient_id, resource in pairs:
            self.by_type[resource["resourceType"]] += 1
            self.patients.add(patient_id)
            yield patient_id, resource

    def audit_detail(self) -> dict[str, Any]:
        """Counts only: what an audit event may hold."""
        return {"resources": dict(sorted(self.by_type.items())), "patients": len(self.patients)}


def _private(path: Path) -> BinaryIO:
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")


def ndjson_lines(pairs: Iterable[Pair]) -> Iterator[bytes]:
    """Each resource as one line of NDJSON."""
    for _, resource in pairs:
        yield orjson.dumps(resource, option=orjson.OPT_APPEND_NEWLINE)


def write_ndjson(pairs: Iterable[Pair], folder: Path, until: datetime) -> Path:
    """`<Type>.ndjson` per resource type and `manifest.json` (the Bulk Data output shape)."""
    folder.mkdir(parents=True, exist_ok=True)
    pending: dict[str, list[bytes]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    files: dict[str, BinaryIO] = {}

    def flush(kind: str) -> None:
        handle = files.get(kind)
        if handle is None:
            handle = files[kind] = _private(folder / f"{kind}.ndjson")
        handle.write(b"".join(pending[kind]))
        counts[kind] += len(pending[kind])
        pending[kind].clear()

    try:
        for _, resource in pairs:
            lines = pending[resource["resourceType"]]
            lines.append(orjson.dumps(resource, option=orjson.OPT_APPEND_NEWLINE))
            if len(lines) >= 1000:  # written in blocks: one call per thousand resources
                flush(resource["resourceType"])
        for kind in list(pending):
            flush(kind)
    finally:
        for handle in files.values():
            handle.close()
    manifest = {
        "transactionTime": until.isoformat(),
        "requiresAccessToken": False,
        "output": [
            {"type": kind, "url": f"{kind}.ndjson", "count": counts[kind]}
            for kind in sorted(counts)
        ],
        "error": [],
    }
    path = folder / "manifest.json"
    with _private(path) as handle:
        handle.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return path


def bundles(pairs: Iterable[Pair], codes: Codes, until: datetime) -> Iterator[Pair]:
    """One `collection` Bundle per patient (with the patient's id), holding every resource
    of that patient."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for patient_id, resource in pairs:
        grouped[patient_id].append(resource)
    stamp = until.isoformat()
    for patient_id in sorted(grouped):
        yield (
            patient_id,
            {
                "resourceType": "Bundle",
                "id": derived_id(patient_id, f"bundle/{stamp}"),
                "type": "collection",
                "timestamp": stamp,
                "entry": [
                    {
                        "fullUrl": f"{codes.base_url}/{r['resourceType']}/{r['id']}",
                        "resource": r,
                    }
                    for r in grouped[patient_id]
                ],
            },
        )


def write_bundles(pairs: Iterable[Pair], folder: Path, codes: Codes, until: datetime) -> int:
    """`Bundle-<patient id>.json` per patient; returns how many were written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for patient_id, bundle in bundles(pairs, codes, until):
        with _private(folder / f"Bundle-{patient_id}.json") as handle:
            handle.write(orjson.dumps(bundle))
        written += 1
    return written
