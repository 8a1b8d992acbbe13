"""The geocode cache: coordinates by address hash, and recent failures, never an address.

Each entry is keyed by a SHA-256 of the geocoder service and the normalised address, and
holds only the coordinates (or a "not found" mark). A failure (the service timed out, was
unreachable, refused) is remembered separately with its time and kind, per address and for
the service as a whole, so a re-plan within `failure_cache_s` does not wait for it again.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from fieldapp.routing.model import Place
from fieldapp.routing.settings import GeocoderSettings


def normalise(address: str) -> str:
    """Case and spacing folded, so trivial differences share one cache entry."""
    return " ".join(address.replace(",", " , ").split()).casefold()


def cache_key(service: str, address: str) -> str:
    """The hash an address is stored under (the address itself is never stored)."""
    return hashlib.sha256(f"{service}\n{normalise(address)}".encode()).hexdigest()


def service_key(service: str) -> str:
    """The key under which the whole service's last failure is kept."""
    return hashlib.sha256(f"{service}\n\x00service".encode()).hexdigest()


def default_cache_path(settings: GeocoderSettings) -> Path:
    """The configured cache file, or one in the user's cache folder."""
    if settings.cache_path:
        return Path(settings.cache_path).expanduser()
    return Path(platformdirs.user_cache_dir("fieldapp")) / "geocode.sqlite"


@dataclass(frozen=True)
class Failure:
    """A remembered failure: when (epoch seconds) and what kind (an exception class name)."""

    at: float
    kind: str


class GeocodeCache:
    """A small sqlite file mapping address hashes to coordinates and recent failures."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    @property
    def _db(self) -> sqlite3.Connection:
        """Opened on first use, so a day with coordinates only never touches the disk."""
        if self._conn is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self._path)
            with self._conn:
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS geocode (key TEXT PRIMARY KEY, lat REAL, lon REAL)"
                )
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS geocode_failure"
                    " (key TEXT PRIMARY KEY, at REAL NOT NULL, kind TEXT NOT NULL)"
                )
        return self._conn

    def get(self, key: str) -> tuple[Place | None] | None:
        """`(place,)` for a cached answer (`(None,)`: not found), or None if never answered."""
        row = self._db.execute("SELECT lat, lon FROM geocode WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return (None,) if row[0] is None else (Place(row[0], row[1]),)

    def put(self, key: str, place: Place | None) -> None:
        """Remember an answer (a `None` place remembers "not found"); clears its failure."""
        lat, lon = (place.lat, place.lon) if place else (None, None)
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO geocode VALUES (?, ?, ?)", (key, lat, lon))
            self._db.execute("DELETE FROM geocode_failure WHERE key = ?", (key,))

    def failure(self, key: str, since: float) -> Failure | None:
        """The failure remembered under `key` at or after `since`, if any."""
        row = self._db.execute(
            "SELECT at, kind FROM geocode_failure WHERE key = ? AND at >= ?", (key, since)
        ).fetchone()
        return Failure(row[0], row[1]) if row else None

    def fail(self, key: str, at: float, kind: str) -> None:
        """Remember a failure under `key`."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO geocode_failure VALUES (?, ?, ?)", (key, at, kind)
            )

    def clear_failure(self, key: str) -> None:
        """Forget the failure under `key` (the service answered again)."""
        with self._db:
            self._db.execute("DELETE FROM geocode_failure WHERE key = ?", (key,))

    def close(self) -> None:
        """Close the file if it was opened."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
