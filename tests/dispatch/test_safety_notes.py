"""Address safety notes: kept by the clinic, category and level only, with a review date and
an expiry; they reach the board, require an escort through routing.toml, and the laptop."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest

from fieldapp.cli import main
from fieldapp.dispatch.replan import replan
from fieldapp.routing.settings import load_routing_settings
from sync.server import audit
from sync.server.db import transaction
from sync.server.safety_notes import Category
from tests.dispatch.kit import add_patients, request, upload
from tests.dispatch.test_cli import _token_file, wired
from tests.dispatch.test_replan import roster, routing
from tests.sync.clientkit import client_for, device_store
from tests.sync.conftest import TODAY, auth
from tests.sync.factories import World

__all__ = ["wired"]


def note(patient: Any, **extra: Any) -> dict[str, Any]:
    return {
        "patient_id": str(patient),
        "category": "weapons",
        "level": "high",
        "review_on": "2030-06-01",
        "expires_on": "2030-12-31",
        **extra,
    }


async def add(api: httpx.AsyncClient, world: World, body: dict[str, Any]) -> httpx.Response:
    return await api.post("/dispatch/safety-notes", json=body, headers=auth(world, "disp"))


async def test_a_note_is_category_and_level_with_dates_and_audited(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    (p1,) = add_patients(world, 1)
    answer = await add(api, world, note(p1))
    assert answer.status_code == 201, answer.text
    stored = answer.json()
    assert set(stored) == {
        "id",
        "patient_id",
        "category",
        "level",
        "review_on",
        "expires_on",
        "review_due",
        "created_by",
        "created_at",
        "withdrawn",
    }
    listed = await api.get(
        "/dispatch/safety-notes", params={"patient": str(p1)}, headers=auth(world, "disp")
    )
    assert [n["id"] for n in listed.json()] == [stored["id"]]
    gone = await api.post(
        f"/dispatch/safety-notes/{stored['id']}/withdraw", headers=auth(world, "disp")
    )
    assert gone.json()["withdrawn"] is True
    with transaction(world.engine) as session:
        actions = {e.action for e in session.exec(audit.select(audit.AuditEvent)).scalars()}  # type: ignore[attr-defined]
    assert {"add_safety_note", "read_safety_notes", "withdraw_safety_note"} <= actions


@pytest.mark.parametrize(
    "change",
    [
        {"category": "has a gun in the bedroom"},  # free text is never accepted
        {"level": "extreme"},
        {"note": "patient said something"},  # no other field
        {"review_on": "2031-01-01"},  # after the expiry
        {"expires_on": "2030-01-01", "review_on": "2029-12-01"},  # already past
    ],
)
async def test_anything_but_a_known_category_level_and_dates_is_refused(
    app: Any, world: World, api: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    (p1,) = add_patients(world, 1)
    answer = await add(api, world, note(p1, **change))
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize("who", ["a", "root"])
async def test_only_dispatchers_keep_notes(
    app: Any, world: World, api: httpx.AsyncClient, who: str
) -> None:
    (p1,) = add_patients(world, 1)
    answer = await api.post("/dispatch/safety-notes", json=note(p1), headers=auth(world, who))
    assert answer.status_code == 403
    answer = await api.get("/dispatch/safety-notes", headers=auth(world, who))
    assert answer.status_code == 403


async def test_a_high_note_requires_an_escort_when_planning(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    p1, p2 = add_patients(world, 2)
    ids = await upload(api, world, [request("R1", p1, 9), request("R2", p2, 11)])
    assert (await add(api, world, note(p1))).status_code == 201
    await add(api, world, note(p2, category="aggressive_animals", level="low"))
    board = (
        await api.get(
            "/dispatch/board", params={"date": TODAY.isoformat()}, headers=auth(world, "disp")
        )
    ).json()
    shown = {v["id"]: v["safety_notes"] for v in board["unassigned"]}
    assert shown[ids["R1"]] == [
        {
            "category": "weapons",
            "level": "high",
            "review_on": "2030-06-01",
            "expires_on": "2030-12-31",
            "review_due": False,
        }
    ]
    from sync.server.plan_models import Board

    parsed = Board.model_validate(board)
    now = datetime(2030, 3, 4, 7, 0, tzinfo=UTC)
    lone = replan(parsed, roster("a", "b"), now, routing())
    reasons = {u["visit_id"]: u["reason"] for u in lone.plan["unassigned"]}
    assert reasons == {
        ids["R1"]: "escort required (address safety note: weapons, high) "
        "and no clinician has an escort today"
    }
    team = roster("a", "b")
    team[1] = team[1].model_copy(update={"escort": True})
    paired = replan(parsed, team, now, routing())
    placed = {s["visit_id"]: r["clinician_id"] for r in paired.plan["routes"] for s in r["stops"]}
    assert placed[ids["R1"]] == "b" and paired.plan["unassigned"] == []


async def test_publishing_puts_the_note_on_the_clinician_s_visit(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    from tests.dispatch.kit import plan_doc, store_and_publish

    (p1,) = add_patients(world, 1)
    ids = await upload(api, world, [request("R1", p1, 9)])
    await add(api, world, note(p1, level="medium"))
    await store_and_publish(api, world, plan_doc({"a": [("R1", 9)]}))
    laptop = device_store(world, "a")
    await client_for(api, laptop).sync_once()
    visit = {str(k): v for k, v in laptop.of_kind("visit").items()}[ids["R1"]]
    assert visit.safety_flags == ["safety note: weapons (medium)"]


async def test_an_expired_or_withdrawn_note_no_longer_applies(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    p1, p2 = add_patients(world, 2)
    ids = await upload(api, world, [request("R1", p1, 9), request("R2", p2, 11)])
    expired = note(p1, review_on="2030-03-01", expires_on="2030-03-03")
    with transaction(world.engine) as session:  # stored before it lapsed
        from sync.server import safety_notes
        from sync.server.safety_notes import SafetyNoteCreate

        safety_notes.add(
            session, SafetyNoteCreate.model_validate(expired), "disp", 0, date(2030, 3, 1)
        )
    withdrawn = (await add(api, world, note(p2))).json()
    await api.post(
        f"/dispatch/safety-notes/{withdrawn['id']}/withdraw", headers=auth(world, "disp")
    )
    board = (
        await api.get(
            "/dispatch/board", params={"date": TODAY.isoformat()}, headers=auth(world, "disp")
        )
    ).json()
    assert {v["id"]: v["safety_notes"] for v in board["unassigned"]} == {
        ids["R1"]: [],
        ids["R2"]: [],
    }


def test_every_category_has_a_rule_in_routing_toml() -> None:
    rules = load_routing_settings().safety.categories
    assert set(rules) == set(get_args(Category))


def test_the_cli_records_lists_and_withdraws(
    wired: Any, world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (p1,) = add_patients(world, 1)
    common = ["--server", "http://127.0.0.1", "--token-file", str(_token_file(world, tmp_path))]
    code = main(
        [
            "dispatch",
            "safety",
            "add",
            *common,
            "--patient",
            str(p1),
            "--category",
            "aggressive_animals",
            "--level",
            "medium",
            "--review",
            "2030-05-01",
            "--expires",
            "2030-09-01",
        ]
    )
    assert code == 0
    recorded = capsys.readouterr().out
    note_id = recorded.split()[1]
    assert "aggressive_animals (medium)" in recorded
    assert main(["dispatch", "safety", "list", *common, "--patient", str(p1)]) == 0
    assert note_id in capsys.readouterr().out
    assert main(["dispatch", "safety", "withdraw", *common, note_id]) == 0
    assert "withdrawn" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # argparse refuses a category not on the list
        main(["dispatch", "safety", "add", *common, "--patient", str(p1), "--category", "x"])
    assert json.dumps(recorded).count("Test Way") == 0  # the note line holds no address


async def test_a_note_past_its_review_date_still_applies_and_is_said(
    app: Any, world: World, api: httpx.AsyncClient
) -> None:
    from sync.server.plan_models import Board

    (p1,) = add_patients(world, 1)
    await upload(api, world, [request("R1", p1, 9)])
    await add(api, world, note(p1, review_on="2030-03-01"))
    board = Board.model_validate(
        (
            await api.get(
                "/dispatch/board", params={"date": TODAY.isoformat()}, headers=auth(world, "disp")
            )
        ).json()
    )
    assert board.unassigned[0].safety_notes[0].review_due
    result = replan(board, roster("a"), datetime(2030, 3, 4, 7, 0, tzinfo=UTC), routing())
    assert (
        "safety: notes past their review date, still applied: R1 (weapons, high, due 2030-03-01)"
        in result.plan["notes"]
    )
    assert result.plan["unassigned"][0]["reason"].startswith("escort required")
