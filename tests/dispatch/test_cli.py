"""`fieldapp dispatch`: enrol, upload, publish and re-plan headless against the server app."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldapp.cli import main
from fieldapp.commands import dispatch
from sync.server import crud
from sync.server.auth import create_enroll_code
from sync.server.db import transaction
from sync.server.models import VisitRow
from tests.dispatch.kit import add_patients, plan_doc, request
from tests.sync.conftest import TODAY
from tests.sync.factories import T0, World, add_user

CLINICIANS_CSV = (
    (
        "id,name,start_place,end_place,start_lat,start_lon,end_lat,end_lon,"
        "shift_start,shift_end,skills,stock_mg,max_visits\n"
    )
    + """a,Clinician A,Clinic,Clinic,47.6,-122.33,47.6,-122.33,07:00,18:00,RN,500,6
b,Clinician B,Clinic,Clinic,47.6,-122.33,47.6,-122.33,07:00,18:00,RN,500,6
"""
)


@pytest.fixture
def wired(app: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """The CLI's http client talks to the app in process."""
    monkeypatch.setattr(
        dispatch,
        "_http",
        lambda: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ),
    )
    monkeypatch.delenv(dispatch.TOKEN_ENV, raising=False)
    return app


def _token_file(world: World, tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(world.tokens["disp"] + "\n")
    return path


def _args(world: World, tmp_path: Path, *rest: str) -> list[str]:
    return [
        "dispatch",
        rest[0],
        "--server",
        "http://127.0.0.1",
        "--token-file",
        str(_token_file(world, tmp_path)),
        "--date",
        TODAY.isoformat(),
        *rest[1:],
    ]


def test_enroll_keeps_the_token_in_a_private_file(wired: Any, world: World, tmp_path: Path) -> None:
    add_user(world.engine, "disp2", "dispatcher")
    with transaction(world.engine) as session:
        code, _ = create_enroll_code(session, "disp2", world.settings, T0)
    path = tmp_path / "office" / "token"
    assert (
        main(
            [
                "dispatch",
                "enroll",
                "--server",
                "http://127.0.0.1",
                "--code",
                code,
                "--token-file",
                str(path),
            ]
        )
        == 0
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dispatch.read_token(path, {}) and dispatch.read_token(path, {}) != world.tokens["disp"]


def test_enroll_refuses_a_clinicians_code(
    wired: Any, world: World, tmp_path: Path, capsys: Any
) -> None:
    with transaction(world.engine) as session:
        code, _ = create_enroll_code(session, "a", world.settings, T0)
    path = tmp_path / "token"
    assert (
        main(
            [
                "dispatch",
                "enroll",
                "--server",
                "http://127.0.0.1",
                "--code",
                code,
                "--token-file",
                str(path),
            ]
        )
        == 2
    )
    assert "not a dispatcher" in capsys.readouterr().err and not path.exists()


def test_a_missing_token_is_a_sentence_not_a_traceback(
    wired: Any, tmp_path: Path, capsys: Any
) -> None:
    code = main(
        [
            "dispatch",
            "replan",
            "--server",
            "http://127.0.0.1",
            "--token-file",
            str(tmp_path / "none"),
        ]
    )
    assert code == 2 and "dispatch enroll" in capsys.readouterr().err


def test_the_token_may_come_from_the_environment(tmp_path: Path) -> None:
    assert dispatch.read_token(None, {dispatch.TOKEN_ENV: "abc\n"}) == "abc"


def test_upload_publish_then_replan_with_a_cancellation(
    wired: Any, world: World, tmp_path: Path, capsys: Any
) -> None:
    patients = add_patients(world, 3)
    requests = tmp_path / "requests.json"
    requests.write_text(
        json.dumps([request(f"R{i}", p, 9 + 2 * i) for i, p in enumerate(patients)])
    )
    assert main(_args(world, tmp_path, "upload", str(requests))) == 0
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(plan_doc({"a": [("R0", 9), ("R1", 11)], "b": [("R2", 13)]})))
    clinicians = tmp_path / "clinicians.csv"
    clinicians.write_text(CLINICIANS_CSV)
    assert main(_args(world, tmp_path, "publish", str(plan), "--clinicians", str(clinicians))) == 0
    assert "3 visits created" in capsys.readouterr().out
    with transaction(world.engine) as session:
        assigned = {crud.visit_record(r).route_order for r in crud.visits_for(session, "a", TODAY)}
    assert {1, 2} <= assigned
    out = tmp_path / "replan.json"
    code = main(_args(world, tmp_path, "replan", "--cancel", "R1", "--out", str(out), "--publish"))
    assert code == 0, capsys.readouterr().err
    new = json.loads(out.read_text())
    planned = {s["visit_id"] for r in new["routes"] for s in r["stops"]}
    with transaction(world.engine) as session:
        rows = {r.id: r for r in session.exec(crud.select(VisitRow)).all()}  # type: ignore[attr-defined]
    cancelled = [i for i, r in rows.items() if r.status == "cancelled"]
    assert len(cancelled) == 1 and cancelled[0] not in planned
    assert "Published" in capsys.readouterr().out


def test_replan_skips_a_bad_clinician_row_as_plan_does(
    wired: Any, world: World, tmp_path: Path, capsys: Any
) -> None:
    """The row `fieldapp plan` would skip and report is skipped and reported here too."""
    patients = add_patients(world, 2)
    requests = tmp_path / "requests.json"
    requests.write_text(
        json.dumps([request(f"R{i}", p, 9 + 2 * i) for i, p in enumerate(patients)])
    )
    assert main(_args(world, tmp_path, "upload", str(requests))) == 0
    clinicians = tmp_path / "clinicians.csv"
    clinicians.write_text(
        CLINICIANS_CSV.replace(",RN,500,6\nb,", ",RN,500,6\nb,").replace(
            "b,Clinician B,Clinic,Clinic,47.6,-122.33,47.6,-122.33,07:00,18:00,RN,500,6",
            "b,Clinician B,Clinic,Clinic,47.6,-122.33,47.6,-122.33,07:00,18:00,RN,,6",
        )
    )
    out = tmp_path / "replan.json"
    code = main(
        _args(world, tmp_path, "replan", "--clinicians", str(clinicians), "--out", str(out))
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "input: clinicians.csv row 3, column stock_mg: is empty" in err
    plan = json.loads(out.read_text())
    assert {r["clinician_id"] for r in plan["routes"]} == {"a"}
    assert plan["input_problems"][0]["row"] == 3
