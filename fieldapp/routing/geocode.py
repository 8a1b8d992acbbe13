"""Addresses to coordinates with geopy, politely rate-limited and cached for offline planning.

The cache holds no address: each entry is keyed by a SHA-256 of the geocoder service and the
normalised address, and holds only the coordinates (or a "not found" mark). A geocoder that
fails (timeout, refused, unreachable) is a failure, never "not found", and is not cached.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import get_geocoder_for_service

from fieldapp.errors import ConfigError
from fieldapp.routing.model import Place
from fieldapp.routing.settings import GeocoderSettings


@dataclass(frozen=True)
class GeocodeResult:
    """A place, or why there is none (`failed` tells a fault from a plain not-found)."""

    place: Place | None
    reason: str = ""
    failed: bool = False
    from_cache: bool = False


def normalise(address: str) -> str:
    """Case and spacing folded, so trivial differences share one cache entry."""
    return " ".join(address.replace(",", " , ").split()).casefold()


def cache_key(service: str, address: str) -> str:
    """The hash an address is stored under (the address itself is never stored)."""
    return hashlib.sha256(f"{service}\n{normalise(address)}".encode()).hexdigest()


def default_cache_path(settings: GeocoderSettings) -> Path:
    """The configured cache file, or one in the user's cache folder."""
    if settings.cache_path:
        return Path(settings.cache_path).expanduser()
    return Path(platformdirs.user_cache_dir("fieldapp")) / "geocode.sqlite"


class GeocodeCache:
    """A small sqlite file mapping address hashes to coordinates."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    @property
    def _db(self) -> sqlite3.Connection:
        """Opened on first use, so a day with coordinates only never touches the disk."""
        if self._conn is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self._path)
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS geocode (key TEXT PRIMARY KEY, lat REAL, lon REAL)"
            )
        return self._conn

    def get(self, key: str) -> GeocodeResult | None:
        """The cached answer for `key`, if any."""
        row = self._db.execute("SELECT lat, lon FROM geocode WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        if row[0] is None:
            return GeocodeResult(None, "address not found", from_cache=True)
        return GeocodeResult(Place(row[0], row[1]), from_cache=True)

    def put(self, key: str, place: Place | None) -> None:
        """Remember an answer (a `None` place remembers "not found")."""
        lat, lon = (place.lat, place.lon) if place else (None, None)
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO geocode VALUES (?, ?, ?)", (key, lat, lon))

    def close(self) -> None:
        """Close the file if it was opened."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def build_geocoder(settings: GeocoderSettings) -> Any:
    """The geopy geocoder named in config, with our user agent and timeout."""
    try:
        geocoder_class = get_geocoder_for_service(settings.service)
    except GeopyError:
        raise ConfigError(
            f"routing.toml: geocoder.service: unknown geopy service {settings.service!r}"
        ) from None
    return geocoder_class(
        user_agent=settings.user_agent, timeout=settings.timeout_s, **settings.options
    )


class AddressGeocoder:
    """Geocode addresses through the cache first, the rate-limited geocoder second."""

    def __init__(
        self,
        settings: GeocoderSettings,
        cache: GeocodeCache,
        geocoder: Any | None = None,
        offline: bool = False,
    ) -> None:
        self._settings = settings
        self._cache = cache
        self._offline = offline
        self._geocoder = geocoder
        self._lookup: Callable[[str], Any] | None = None

    def _rate_limited(self) -> Callable[[str], Any]:
        if self._lookup is None:
            geocoder = self._geocoder or build_geocoder(self._settings)
            self._lookup = RateLimiter(
                geocoder.geocode,
                min_delay_seconds=self._settings.min_delay_s,
                max_retries=self._settings.max_retries,
                error_wait_seconds=self._settings.error_wait_s,
                swallow_exceptions=False,
            )
        return self._lookup

    def geocode(self, address: str) -> GeocodeResult:
        """One address: cached answer, else a request (unless offline)."""
        key = cache_key(self._settings.service, address)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if self._offline:
            return GeocodeResult(None, "not in the geocode cache and planning offline", failed=True)
        try:
            found = self._rate_limited()(address)
        except GeopyError as exc:
            # The exception text can quote the request URL, i.e. the address: name the kind only.
            return GeocodeResult(None, f"geocoder failed ({type(exc).__name__})", failed=True)
        except OSError as exc:
            return GeocodeResult(None, f"geocoder unreachable ({type(exc).__name__})", failed=True)
        place = Place(float(found.latitude), float(found.longitude)) if found else None
        self._cache.put(key, place)
        return GeocodeResult(place, "" if place else "address not found")

    def geocode_many(self, addresses: Iterable[str]) -> dict[str, GeocodeResult]:
        """Each distinct address once."""
        return {address: self.geocode(address) for address in dict.fromkeys(addresses)}
