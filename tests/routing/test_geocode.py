"""Geocoding through a fake geocoder: cache, offline planning, failure versus not-found."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from geopy.exc import GeocoderServiceError, GeocoderTimedOut

from fieldapp.errors import ConfigError
from fieldapp.routing.geocode import (
    AddressGeocoder,
    GeocodeCache,
    build_geocoder,
    cache_key,
    normalise,
)
from fieldapp.routing.settings import GeocoderSettings

SETTINGS = GeocoderSettings(
    user_agent="fieldapp-tests", min_delay_s=0, error_wait_s=0, max_retries=1
)


@dataclass
class Found:
    latitude: float
    longitude: float


class FakeGeocoder:
    """Answers from a dict; counts calls; can be told to fail."""

    def __init__(self, known: dict[str, tuple[float, float]], fail: Exception | None = None):
        self.known = known
        self.fail = fail
        self.calls: list[str] = []

    def geocode(self, query: str) -> Found | None:
        self.calls.append(query)
        if self.fail is not None:
            raise self.fail
        hit = self.known.get(query)
        return Found(*hit) if hit else None


ADDRESS = "1410 NE 66th St, Seattle, WA 98115"


def make(tmp_path: Path, fake: FakeGeocoder, offline: bool = False) -> AddressGeocoder:
    return AddressGeocoder(SETTINGS, GeocodeCache(tmp_path / "g.sqlite"), fake, offline=offline)


def test_found_address_is_cached_and_reused_offline(tmp_path: Path) -> None:
    fake = FakeGeocoder({ADDRESS: (47.676, -122.313)})
    first = make(tmp_path, fake).geocode(ADDRESS)
    assert first.place is not None and not first.from_cache
    assert first.place.lat == pytest.approx(47.676)
    dead = FakeGeocoder({}, fail=GeocoderTimedOut("down"))
    again = make(tmp_path, dead, offline=True).geocode("  1410 ne 66th st,  Seattle, WA 98115 ")
    assert again.place == first.place and again.from_cache
    assert dead.calls == []


def test_cache_holds_no_address_text(tmp_path: Path) -> None:
    make(tmp_path, FakeGeocoder({ADDRESS: (47.676, -122.313)})).geocode(ADDRESS)
    raw = (tmp_path / "g.sqlite").read_bytes()
    assert b"66th" not in raw and b"Seattle" not in raw
    rows = sqlite3.connect(tmp_path / "g.sqlite").execute("SELECT * FROM geocode").fetchall()
    assert rows == [(cache_key("nominatim", ADDRESS), 47.676, -122.313)]


def test_not_found_is_not_a_failure(tmp_path: Path) -> None:
    result = make(tmp_path, FakeGeocoder({})).geocode("nowhere at all")
    assert result.place is None and not result.failed
    assert result.reason == "address not found"


@pytest.mark.parametrize("error", [GeocoderTimedOut("slow"), GeocoderServiceError("503")])
def test_failing_geocoder_reports_failure_not_not_found_and_is_not_cached(
    tmp_path: Path, error: Exception
) -> None:
    fake = FakeGeocoder({}, fail=error)
    result = make(tmp_path, fake).geocode(ADDRESS)
    assert result.place is None and result.failed
    assert "failed" in result.reason and "not found" not in result.reason
    assert "66th" not in result.reason  # never echo the address
    assert len(fake.calls) == 2  # one retry, as configured
    working = FakeGeocoder({ADDRESS: (47.676, -122.313)})
    assert make(tmp_path, working).geocode(ADDRESS).place is not None


def test_offline_without_cache_entry_is_a_failure(tmp_path: Path) -> None:
    fake = FakeGeocoder({ADDRESS: (47.676, -122.313)})
    result = make(tmp_path, fake, offline=True).geocode(ADDRESS)
    assert result.failed and "offline" in result.reason
    assert fake.calls == []


def test_each_distinct_address_is_asked_once(tmp_path: Path) -> None:
    fake = FakeGeocoder({ADDRESS: (47.676, -122.313)})
    results = make(tmp_path, fake).geocode_many([ADDRESS, ADDRESS, "other"])
    assert set(results) == {ADDRESS, "other"} and fake.calls == [ADDRESS, "other"]


def test_normalise_folds_case_and_spacing() -> None:
    assert normalise(" A  St ,Seattle ") == normalise("a st, seattle")


def test_geocoder_is_chosen_by_service_name() -> None:
    photon = build_geocoder(SETTINGS.model_copy(update={"service": "photon"}))
    assert type(photon).__name__ == "Photon"
    nominatim = build_geocoder(SETTINGS)
    assert (
        type(nominatim).__name__ == "Nominatim"
        and nominatim.headers["User-Agent"] == "fieldapp-tests"
    )
    with pytest.raises(ConfigError, match="unknown geopy service"):
        build_geocoder(SETTINGS.model_copy(update={"service": "no-such-service"}))


def test_cache_file_is_created_only_when_used(tmp_path: Path) -> None:
    cache = GeocodeCache(tmp_path / "sub" / "g.sqlite")
    cache.close()
    assert not (tmp_path / "sub").exists()
