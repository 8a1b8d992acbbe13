"""Addresses to coordinates with geopy: cached, polite, within one deadline, never logged.

- The cache answers first (`geocache.py`), so re-planning works offline.
- All requests of one plan share one deadline (`deadline_s`). Each request runs in a
  daemon thread that is abandoned when the deadline comes, so neither a server that never
  answers nor a DNS lookup that hangs can hold the plan past it.
- The first failure that shows the service unavailable (timeout, refused, DNS, server
  error, our deadline) stops all further requests of that plan; the failure is remembered
  for `failure_cache_s`, so the next re-plan does not wait for it again. Only a "too many
  requests" answer is retried (`max_retries`, after `error_wait_s`).
- No address reaches a log line: geopy's own logger is silenced (it logs request URLs),
  and requests go through the standard library's urllib (no urllib3 retry warnings, which
  quote the URL). Our messages name the kind of failure only, never the address.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from geopy.adapters import URLLibAdapter
from geopy.exc import GeocoderQueryError, GeocoderRateLimited, GeocoderTimedOut, GeopyError
from geopy.geocoders import get_geocoder_for_service

from fieldapp.errors import ConfigError
from fieldapp.routing.geocache import (
    GeocodeCache,
    cache_key,
    default_cache_path,
    normalise,
    service_key,
)
from fieldapp.routing.model import Place
from fieldapp.routing.settings import GeocoderSettings

__all__ = [
    "AddressGeocoder",
    "GeocodeCache",
    "GeocodeResult",
    "build_geocoder",
    "cache_key",
    "default_cache_path",
    "normalise",
]


class _DropAll(logging.Filter):
    """geopy logs request URLs (the address) at DEBUG and error bodies at INFO: drop them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


_QUIET = _DropAll()


def silence_geopy() -> None:
    """Drop every record of geopy's logger (all of geopy logs through `geopy`)."""
    logger = logging.getLogger("geopy")
    if _QUIET not in logger.filters:
        logger.addFilter(_QUIET)


@dataclass(frozen=True)
class GeocodeResult:
    """A place, or why there is none (`failed` tells a fault from a plain not-found)."""

    place: Place | None
    reason: str = ""
    failed: bool = False
    from_cache: bool = False


def build_geocoder(settings: GeocoderSettings) -> Any:
    """The geopy geocoder named in config, with our user agent, timeout and urllib adapter."""
    silence_geopy()
    try:
        geocoder_class = get_geocoder_for_service(settings.service)
    except GeopyError:
        raise ConfigError(
            f"routing.toml: geocoder.service: unknown geopy service {settings.service!r}"
        ) from None
    options = {"adapter_factory": URLLibAdapter, **settings.options}
    return geocoder_class(user_agent=settings.user_agent, timeout=settings.timeout_s, **options)


GRACE_S = 0.25  # seconds between a request's own timeout and the plan's deadline


class _NoAnswer(Exception):
    """The request was still running when the plan's geocoding deadline came."""


def _within(call: Callable[[], Any], seconds: float) -> Any:
    """`call()` in a daemon thread; its result or exception, or `_NoAnswer` after `seconds`."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed back to the caller, never printed by the thread
            box["error"] = exc

    thread = threading.Thread(target=work, name="geocode", daemon=True)
    thread.start()
    thread.join(max(seconds, 0.0))
    if thread.is_alive():
        raise _NoAnswer
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _hm(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%H:%M")


class AddressGeocoder:
    """Geocode addresses through the cache first, then the service within one deadline."""

    def __init__(
        self,
        settings: GeocoderSettings,
        cache: GeocodeCache,
        geocoder: Any | None = None,
        offline: bool = False,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        silence_geopy()
        self._settings = settings
        self._cache = cache
        self._offline = offline
        self._geocoder = geocoder
        self._clock, self._wall, self._sleep = clock, wall, sleep
        self._deadline: float | None = None
        self._down = ""
        self._last_request: float | None = None
        self._failures = 0
        self._retry_after: float | None = None

    def geocode(self, address: str) -> GeocodeResult:
        """One address: cached answer, else a request (unless offline, down or out of time)."""
        key = cache_key(self._settings.service, address)
        cached = self._cache.get(key)
        if cached is not None:
            place = cached[0]
            return GeocodeResult(place, "" if place else "address not found", from_cache=True)
        if self._offline:
            return self._failed("not in the geocode cache and planning offline")
        if self._down:
            return self._failed(f"not asked: {self._down} earlier in this plan")
        since = self._wall() - self._settings.failure_cache_s
        service = service_key(self._settings.service)
        remembered = self._cache.failure(service, since) or self._cache.failure(key, since)
        if remembered is not None:
            again = remembered.at + self._settings.failure_cache_s
            self._retry_after = again
            return self._failed(
                f"the geocoder failed at {_hm(remembered.at)} ({remembered.kind}); "
                f"not asked again until {_hm(again)}"
            )
        if self._deadline is None:
            self._deadline = self._clock() + self._settings.deadline_s
        return self._ask(address, key, service)

    def _ask(self, address: str, key: str, service: str) -> GeocodeResult:
        retries = 0
        while True:
            assert self._deadline is not None
            wait = 0.0
            if self._last_request is not None:
                wait = max(0.0, self._last_request + self._settings.min_delay_s - self._clock())
            left = self._deadline - self._clock() - wait
            if left <= 0:
                self._down = f"the {self._settings.deadline_s:g} s geocoding deadline passed"
                return self._failed(f"not asked: {self._down}")
            if wait:
                self._sleep(wait)
            self._last_request = self._clock()
            # The request's own timeout ends a moment before the deadline; the thread is cut
            # at the deadline, for a DNS lookup that no socket timeout bounds.
            timeout = min(self._settings.timeout_s, max(left - GRACE_S, GRACE_S))
            lookup = self._lookup()
            try:
                found = _within(partial(lookup, address, timeout=timeout), left)
            except (_NoAnswer, GeocoderTimedOut) as exc:
                if isinstance(exc, GeocoderTimedOut) and timeout >= self._settings.timeout_s:
                    return self._unavailable(
                        key, service, "GeocoderTimedOut", "geocoder unavailable (GeocoderTimedOut)"
                    )
                return self._unavailable(key, service, "NoAnswer", "no answer within the deadline")
            except GeocoderRateLimited as exc:
                pause = exc.retry_after or self._settings.error_wait_s
                if retries < self._settings.max_retries and self._clock() + pause < self._deadline:
                    retries += 1
                    self._sleep(pause)
                    continue
                return self._unavailable(key, service, type(exc).__name__, "rate limited")
            except GeocoderQueryError as exc:  # this address, not the service
                self._cache.fail(key, self._wall(), type(exc).__name__)
                return self._failed(f"the geocoder refused the query ({type(exc).__name__})")
            except Exception as exc:  # any other fault: the service is unavailable
                name = type(exc).__name__
                return self._unavailable(key, service, name, f"geocoder unavailable ({name})")
            place = Place(float(found.latitude), float(found.longitude)) if found else None
            self._cache.put(key, place)
            self._cache.clear_failure(service)
            return GeocodeResult(place, "" if place else "address not found")

    def _lookup(self) -> Callable[..., Any]:
        if self._geocoder is None:
            self._geocoder = build_geocoder(self._settings)
        return self._geocoder.geocode  # type: ignore[no-any-return]

    def _unavailable(self, key: str, service: str, kind: str, reason: str) -> GeocodeResult:
        """The service failed: stop asking in this plan, and remember it for a while."""
        now = self._wall()
        self._cache.fail(key, now, kind)
        self._cache.fail(service, now, kind)
        self._down = f"the geocoder was unavailable ({kind})"
        self._retry_after = now + self._settings.failure_cache_s
        return self._failed(reason)

    def _failed(self, reason: str) -> GeocodeResult:
        self._failures += 1
        return GeocodeResult(None, reason, failed=True)

    def geocode_many(self, addresses: Iterable[str]) -> dict[str, GeocodeResult]:
        """Each distinct address once."""
        return {address: self.geocode(address) for address in dict.fromkeys(addresses)}

    def notes(self) -> list[str]:
        """What the dispatcher should know after this plan's geocoding (no address)."""
        if not self._failures:
            return []
        if self._offline:
            return [f"geocoder: {self._failures} addresses are not in the cache (planning offline)"]
        when = f" after {_hm(self._retry_after)}" if self._retry_after else " later"
        return [
            f"geocoder: {self._failures} addresses could not be geocoded; plan with --offline "
            f"to use the cache alone without waiting; the geocoder is asked again{when}"
        ]
