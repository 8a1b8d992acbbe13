"""`fieldapp plan` against a real geocoder that hangs, and one whose DNS lookup fails.

Each run goes through the CLI with the shipped geocoder stack (geopy, our adapter choice,
our deadline): the plan ends at its geocoding deadline with clear reasons while the
request is still hanging, and no log record at any level, from any logger, and nothing on
stdout or stderr holds a patient address.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldapp.cli import main
from fieldapp.routing.geocode import AddressGeocoder, GeocodeCache, build_geocoder
from fieldapp.routing.settings import GeocoderSettings

STREET = "Quillfeather"  # a distinctive synthetic street: any trace of it is a leak
VISITS = (
    "id,patient,address,lat,lon,earliest,latest,duration_min,planned_dose_mg\n"
    f'G1,Demo Patient 91,"4711 {STREET} Lane, Seattle, WA 98115",,,09:00,11:00,60,40\n'
    f'G2,Demo Patient 92,"12 {STREET} Court, Seattle, WA 98103",,,12:00,14:00,60,40\n'
    "G3,Demo Patient 93,,47.6,-122.3,09:00,12:00,60,40\n"
)
CLINICIANS = (
    "id,name,start_place,start_lat,start_lon,shift_start,shift_end,stock_mg\n"
    "C1,Demo Clinician,Clinic,47.59,-122.31,08:00,17:00,200\n"
)


class Capture(logging.Handler):
    """Every record of every logger, formatted with its traceback, if any."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def every_log() -> Iterator[Capture]:
    """Root at DEBUG, every known logger at DEBUG and heard, nothing disabled."""
    capture = Capture()
    root = logging.getLogger()
    saved = (root.level, logging.root.manager.disable)
    levels = {}
    logging.disable(logging.NOTSET)
    root.setLevel(logging.DEBUG)
    root.addHandler(capture)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            levels[name] = (logger.level, logger.disabled)
            logger.setLevel(logging.DEBUG)
            logger.disabled = False
            if not logger.propagate:
                logger.addHandler(capture)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(saved[0])
        logging.disable(saved[1])
        for name, (level, disabled) in levels.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.disabled = disabled
            if capture in logger.handlers:
                logger.removeHandler(capture)


@pytest.fixture
def hanging_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP server on loopback that accepts every connection and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], held
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


def config(tmp_path: Path, options: str) -> Path:
    path = tmp_path / "routing.toml"
    path.write_text(
        "[geocoder]\n"
        'user_agent = "fieldapp-tests"\n'
        "timeout_s = 60.0\n"
        "deadline_s = 1.0\n"
        "min_delay_s = 0.0\n"
        f'cache_path = "{tmp_path / "geocode.sqlite"}"\n'
        f"options = {{ {options} }}\n"
        "[planner]\n"
        'solver = "vroom"\n'
        "time_limit_s = 0.3\n"
    )
    return path


def plan(tmp_path: Path, cfg: Path) -> dict:  # type: ignore[type-arg]
    visits = tmp_path / "v.csv"
    visits.write_text(VISITS)
    (tmp_path / "c.csv").write_text(CLINICIANS)
    out = tmp_path / "plan.json"
    code = main(
        [
            "plan",
            "--visits",
            str(visits),
            "--clinicians",
            str(tmp_path / "c.csv"),
            "--date",
            "2025-03-04",
            "--config",
            str(cfg),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def assert_no_address(capture: Capture, capfd: pytest.CaptureFixture[str], *files: Path) -> None:
    out, err = capfd.readouterr()
    texts = [*capture.lines, out, err, *(f.read_text() for f in files if f.exists())]
    for text in texts:
        assert STREET.casefold() not in text.casefold()


def test_a_hanging_geocoder_ends_at_the_deadline_and_logs_no_address(
    tmp_path: Path,
    every_log: Capture,
    capfd: pytest.CaptureFixture[str],
    hanging_server: tuple[int, list[socket.socket]],
) -> None:
    port, held = hanging_server
    result = plan(tmp_path, config(tmp_path, f'domain = "127.0.0.1:{port}", scheme = "http"'))
    reasons = {u["visit_id"]: u["reason"] for u in result["unassigned"]}
    assert reasons["G1"] == "address could not be geocoded: no answer within the deadline"
    assert reasons["G2"].startswith("address could not be geocoded: not asked:")
    assert any("--offline" in note for note in result["notes"])
    # One request only (it stopped asking once the service was down), ended by the 1 s
    # deadline rather than the 60 s request timeout the config also sets.
    assert len(held) == 1
    assert [s["visit_id"] for r in result["routes"] for s in r["stops"]] == ["G3"]
    assert_no_address(every_log, capfd, tmp_path / "plan.json")


@pytest.fixture
def failing_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """DNS for `*.invalid` hangs (as a dead resolver does) until released, then fails."""
    real = socket.getaddrinfo
    release = threading.Event()

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(host).endswith(".invalid"):
            release.wait(30)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield release
    release.set()


def test_a_geocoder_whose_dns_fails_ends_at_the_deadline_and_logs_no_address(
    tmp_path: Path,
    every_log: Capture,
    capfd: pytest.CaptureFixture[str],
    failing_dns: threading.Event,
) -> None:
    result = plan(tmp_path, config(tmp_path, 'domain = "geocoder.invalid"'))
    assert not failing_dns.is_set()  # the lookup is still hanging: the deadline ended the plan
    reasons = {u["visit_id"]: u["reason"] for u in result["unassigned"]}
    assert reasons["G1"] == "address could not be geocoded: no answer within the deadline"
    assert reasons["G2"].startswith("address could not be geocoded: not asked:")
    assert_no_address(every_log, capfd, tmp_path / "plan.json")


def test_a_dns_failure_that_answers_is_reported_and_remembered(
    tmp_path: Path,
    every_log: Capture,
    capfd: pytest.CaptureFixture[str],
    failing_dns: threading.Event,
) -> None:
    failing_dns.set()  # the resolver answers at once: "no such name"
    cfg = config(tmp_path, 'domain = "geocoder.invalid"')
    result = plan(tmp_path, cfg)
    reasons = {u["visit_id"]: u["reason"] for u in result["unassigned"]}
    assert (
        reasons["G1"]
        == "address could not be geocoded: geocoder unavailable (GeocoderServiceError)"
    )
    again = plan(tmp_path, cfg)  # a re-plan does not ask the failed service again
    reasons = {u["visit_id"]: u["reason"] for u in again["unassigned"]}
    assert "not asked again until" in reasons["G1"]
    assert_no_address(every_log, capfd, tmp_path / "plan.json")


def test_the_capture_would_see_an_address_geopy_logs(
    tmp_path: Path, every_log: Capture, hanging_server: tuple[int, list[socket.socket]]
) -> None:
    """Without our filter geopy logs the request URL: the capture above is not blind."""
    port, _held = hanging_server
    settings = GeocoderSettings(
        user_agent="fieldapp-tests",
        deadline_s=0.5,
        min_delay_s=0,
        options={"domain": f"127.0.0.1:{port}", "scheme": "http"},
    )
    geocoder = AddressGeocoder(
        settings, GeocodeCache(tmp_path / "g.sqlite"), build_geocoder(settings)
    )
    geopy_logger = logging.getLogger("geopy")
    saved = list(geopy_logger.filters)
    geopy_logger.filters.clear()
    try:
        geocoder.geocode(f"4711 {STREET} Lane, Seattle")
    finally:
        geopy_logger.filters[:] = saved
    assert any(STREET in line for line in every_log.lines)
