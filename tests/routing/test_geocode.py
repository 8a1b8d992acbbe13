"""Geocoding through a fake geocoder: cache, offline planning, failure versus not-found."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from geopy.exc import GeocoderRateLimited, GeocoderServiceError, GeocoderTimedOut

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

    def geocode(self, query: str, timeout: float | None = None) -> Found | None:
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


class Clock:
    """A settable wall clock (epoch seconds)."""

    def __init__(self) -> None:
        self.now = 1_741_100_000.0

    def __call__(self) -> float:
        return self.now


def make_at(tmp_path: Path, fake: FakeGeocoder, wall: Clock) -> AddressGeocoder:
    return AddressGeocoder(SETTINGS, GeocodeCache(tmp_path / "g.sqlite"), fake, wall=wall)


@pytest.mark.parametrize(
    "error", [GeocoderTimedOut("slow"), GeocoderServiceError("503"), OSError("no route")]
)
def test_an_unavailable_geocoder_is_asked_once_per_plan_and_remembered(
    tmp_path: Path, error: Exception
) -> None:
    wall = Clock()
    fake = FakeGeocoder({}, fail=error)
    geocoder = make_at(tmp_path, fake, wall)
    results = geocoder.geocode_many([ADDRESS, "2 Other St"])
    first, second = results[ADDRESS], results["2 Other St"]
    assert first.place is None and first.failed and "not found" not in first.reason
    assert first.reason == f"geocoder unavailable ({type(error).__name__})"
    assert second.failed and second.reason.startswith("not asked: the geocoder was unavailable")
    assert fake.calls == [ADDRESS]  # no retry, and nothing more once it is seen down
    assert "66th" not in first.reason + second.reason  # never echo the address
    assert "--offline" in geocoder.notes()[0]
    # The next plan, minutes later, does not wait for the same failure.
    working = FakeGeocoder({ADDRESS: (47.676, -122.313)})
    wall.now += 120
    again = make_at(tmp_path, working, wall).geocode(ADDRESS)
    assert again.failed and "not asked again until" in again.reason and working.calls == []
    # Once the failure is older than failure_cache_s, the service is asked again.
    wall.now += SETTINGS.failure_cache_s
    assert make_at(tmp_path, working, wall).geocode(ADDRESS).place is not None
    assert working.calls == [ADDRESS]


def test_rate_limited_is_retried_as_configured(tmp_path: Path) -> None:
    fake = FakeGeocoder({}, fail=GeocoderRateLimited("429", retry_after=0))
    result = make(tmp_path, fake).geocode(ADDRESS)
    assert result.failed and result.reason == "rate limited"
    assert len(fake.calls) == 1 + SETTINGS.max_retries


def test_a_geocoder_that_hangs_is_abandoned_at_the_deadline(tmp_path: Path) -> None:
    release = threading.Event()

    class Hanging:
        calls = 0

        def geocode(self, query: str, timeout: float | None = None) -> None:
            Hanging.calls += 1
            release.wait(60)

    quick = SETTINGS.model_copy(update={"deadline_s": 0.3, "timeout_s": 60})
    geocoder = AddressGeocoder(quick, GeocodeCache(tmp_path / "g.sqlite"), Hanging())
    try:
        results = geocoder.geocode_many([ADDRESS, "2 Other St"])
    finally:
        release.set()
    assert results[ADDRESS].reason == "no answer within the deadline"
    assert results["2 Other St"].reason.startswith("not asked")
    assert Hanging.calls == 1


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
