"""Scan files for secrets in the forms a leak could take: UTF-8, UTF-16, lowercase, base64, hex."""

from __future__ import annotations

import base64
from pathlib import Path


def store_files(path: Path) -> list[Path]:
    """The store file and every SQLite side file next to it that exists."""
    candidates = [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]
    return [p for p in candidates if p.exists()]


def _base64_forms(data: bytes) -> list[bytes]:
    """Base64 of `data` at each of the three alignments it can take inside a longer blob."""
    forms = []
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + data)
        # Drop the characters that depend on the neighbouring bytes.
        start = (shift * 4 + 2) // 3 + (1 if shift else 0)
        end = len(encoded) - 4
        core = encoded[start:end]
        if len(core) >= 6:
            forms.append(core)
            forms.append(core.replace(b"+", b"-").replace(b"/", b"_"))
    return forms


def text_forms(needle: str) -> dict[str, bytes]:
    """Every encoding of a piece of text we look for."""
    forms: dict[str, bytes] = {}
    for label, text in (("", needle), ("lower ", needle.lower()), ("upper ", needle.upper())):
        utf8 = text.encode("utf-8")
        forms[f"{label}utf-8"] = utf8
        forms[f"{label}utf-16-le"] = text.encode("utf-16-le")
        forms[f"{label}utf-16-be"] = text.encode("utf-16-be")
        for i, b64 in enumerate(_base64_forms(utf8)):
            forms[f"{label}base64#{i}"] = b64
    return forms


def key_forms(key: bytes) -> dict[str, bytes]:
    """Every encoding of a raw key we look for."""
    forms = {"raw": key, "hex": key.hex().encode(), "HEX": key.hex().upper().encode()}
    for i, b64 in enumerate(_base64_forms(key)):
        forms[f"base64#{i}"] = b64
    forms["base64"] = base64.b64encode(key)
    forms["base64url"] = base64.urlsafe_b64encode(key).rstrip(b"=")
    return forms


def hits(files: list[Path], forms_by_needle: dict[str, dict[str, bytes]]) -> list[str]:
    """Every (file, needle, form) where the needle appears."""
    found = []
    for file in files:
        blob = file.read_bytes()
        for needle, forms in forms_by_needle.items():
            for form_name, form in forms.items():
                if form and form in blob:
                    found.append(f"{file.name}: {needle!r} as {form_name}")
    return found
