"""`fieldapp dispatch ...`: the dispatcher's office commands against the clinic server.

enroll | upload | publish | replan | board. The planner runs here, in the dispatcher's own
process (the server never imports `fieldapp`); the server stores and publishes plans.

The dispatcher's token comes from `--token-file`, else `FIELDAPP_DISPATCH_TOKEN`, else the
file `dispatch enroll` wrote (`dispatch-token` in the user's config folder, mode 0600).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, get_args

import httpx

from fieldapp.commands.office import OfficeRole
from fieldapp.errors import FieldAppError
from fieldapp.settings import load_settings
from sync.client import SyncError, make_http_client
from sync.dispatch_client import DispatchClient, raise_for
from sync.server.safety_notes import Category as SafetyCategory
from sync.server.safety_notes import Level as SafetyLevel
from sync.server.safety_notes import SafetyNotePublic

if TYPE_CHECKING:
    from fieldapp.routing.model import InputProblem
    from fieldapp.routing.settings import RoutingSettings
    from sync.server.plan_models import Board, RosterClinician

TOKEN_ENV = "FIELDAPP_DISPATCH_TOKEN"  # noqa: S105  (a variable name, not a secret)
T = TypeVar("T")


class DispatchError(FieldAppError):
    """A dispatch command could not do its work (the sentence says why)."""


OFFICE = OfficeRole("dispatcher", "dispatch", TOKEN_ENV, DispatchError)
default_token_file = OFFICE.default_token_file


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `dispatch` command and its subcommands."""
    parser = subparsers.add_parser("dispatch", help="plan, publish and watch the day (dispatcher)")
    sub = parser.add_subparsers(dest="dispatch_command", metavar="SUBCOMMAND", required=True)

    enroll = sub.add_parser("enroll", help="enrol this office computer with a one-time code")
    _common(enroll, day=False)
    enroll.add_argument("--code", required=True, help="the one-time code from the admin")
    enroll.set_defaults(handler=cmd_enroll)

    upload = sub.add_parser("upload", help="upload the day's visit requests (JSON list)")
    _common(upload)
    upload.add_argument("requests", type=Path, help="JSON list of visit requests")
    upload.set_defaults(handler=cmd_upload)

    publish = sub.add_parser("publish", help="store a plan.json and publish it")
    _common(publish)
    publish.add_argument("plan", type=Path, help="the plan from `fieldapp plan` or `replan`")
    _roster_args(publish)
    publish.set_defaults(handler=cmd_publish)

    again = sub.add_parser("replan", help="re-plan the rest of the day around visits under way")
    _common(again)
    _roster_args(again)
    again.add_argument(
        "--cancel", action="append", default=[], metavar="VISIT", help="cancel first (id or ref)"
    )
    again.add_argument("--out", type=Path, default=None, help="also write the plan JSON here")
    again.add_argument("--publish", action="store_true", help="publish the new plan at once")
    again.set_defaults(handler=cmd_replan)

    _register_safety(sub)

    board = sub.add_parser("board", help="open the live dispatch board in the terminal")
    _common(board)
    _roster_args(board)
    board.add_argument("--poll", type=float, default=15.0, help="seconds between refreshes")
    board.set_defaults(handler=cmd_board)


def _register_safety(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    safety = sub.add_parser(
        "safety", help="address safety notes: category and level, review date, expiry"
    )
    what = safety.add_subparsers(dest="safety_command", metavar="ACTION", required=True)
    add = what.add_parser("add", help="record a note on a patient's address")
    _common(add, day=False)
    add.add_argument("--patient", required=True, help="the patient's id")
    add.add_argument("--category", required=True, choices=get_args(SafetyCategory))
    add.add_argument("--level", required=True, choices=get_args(SafetyLevel))
    add.add_argument("--review", required=True, type=_day, help="review by (YYYY-MM-DD)")
    add.add_argument("--expires", required=True, type=_day, help="stops applying after")
    add.set_defaults(handler=cmd_safety_add)
    listing = what.add_parser("list", help="list notes (of one patient with --patient)")
    _common(listing, day=False)
    listing.add_argument("--patient", default=None, help="the patient's id")
    listing.set_defaults(handler=cmd_safety_list)
    withdraw = what.add_parser("withdraw", help="withdraw a note (it stays on record)")
    _common(withdraw, day=False)
    withdraw.add_argument("note", help="the note's id")
    withdraw.set_defaults(handler=cmd_safety_withdraw)


def _common(parser: argparse.ArgumentParser, day: bool = True) -> None:
    OFFICE.add_server_args(parser)
    if day:
        parser.add_argument("--date", type=_day, default=None, help="YYYY-MM-DD (default today)")


def _roster_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clinicians", type=Path, default=None, help="clinicians.csv (else the last roster)"
    )
    parser.add_argument("--config", type=Path, default=None, help="routing.toml to use")
    parser.add_argument("--offline", action="store_true", help="geocode from the cache only")


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError("expected YYYY-MM-DD") from None


_server = OFFICE.server


def read_token(token_file: Path | None, environ: dict[str, str] | None = None) -> str:
    """The dispatcher's token: the file given, the environment, or the enrolled file."""
    return OFFICE.read_token(token_file, environ)


def _http() -> httpx.AsyncClient:
    return make_http_client(load_settings().sync)


def _run(args: argparse.Namespace, work: Callable[[DispatchClient], Awaitable[T]]) -> T:
    """Run one async job with a dispatch client; sync errors become our error."""
    server, token = _server(args), read_token(args.token_file)

    async def main() -> T:
        async with _http() as http:
            return await work(DispatchClient(http, server, token))

    try:
        return asyncio.run(main())
    except SyncError as exc:
        raise DispatchError(str(exc)) from None


def cmd_enroll(args: argparse.Namespace) -> int:
    """Redeem a code; keep the token in a file only this user can read."""
    server = _server(args)
    path = args.token_file or default_token_file()

    async def main() -> dict[str, Any]:
        async with _http() as http:
            try:
                response = await http.post(
                    server + "/enroll", json={"code": args.code, "device_name": "dispatch office"}
                )
            except httpx.TransportError:
                raise DispatchError("The server cannot be reached.") from None
            if response.status_code == 400:
                raise DispatchError("The server did not accept that code: ask for a new one.")
            return raise_for(response)  # type: ignore[no-any-return]

    try:
        answer = asyncio.run(main())
    except SyncError as exc:
        raise DispatchError(str(exc)) from None
    OFFICE.keep_token(path, answer)
    return 0


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DispatchError(f"{path}: cannot be read as JSON ({type(exc).__name__})") from None


def cmd_upload(args: argparse.Namespace) -> int:
    """Upload visit requests for the day."""
    requests = _load_json(args.requests)
    if not isinstance(requests, list):
        raise DispatchError(f"{args.requests}: expected a JSON list of visit requests")
    day = args.date or date.today()
    stored = _run(args, lambda client: client.upload_requests(day, requests))
    print(f"Uploaded {len(stored)} visit requests for {day}.")
    return 0


def _routing(args: argparse.Namespace) -> RoutingSettings:
    from fieldapp.routing.settings import load_routing_settings

    return load_routing_settings(args.config)


def _roster(
    args: argparse.Namespace, day: date, settings: RoutingSettings
) -> tuple[list[RosterClinician], list[InputProblem]]:
    """The roster of `--clinicians` (empty without it); bad rows skipped and printed, as
    `fieldapp plan` does."""
    if args.clinicians is None:
        return [], []
    from fieldapp.dispatch.replan import roster_from_csv
    from fieldapp.routing.geocode import AddressGeocoder, GeocodeCache, default_cache_path

    cache = GeocodeCache(default_cache_path(settings.geocoder))
    try:
        geocoder = AddressGeocoder(settings.geocoder, cache, offline=args.offline)
        roster, problems = roster_from_csv(args.clinicians, day, settings, geocoder)
    finally:
        cache.close()
    for problem in problems:
        print(f"  input: {problem}", file=sys.stderr)
    for note in geocoder.notes():
        print(f"  note: {note}", file=sys.stderr)
    return roster, problems


async def latest_roster(client: DispatchClient, day: date) -> list[RosterClinician]:
    """The roster stored with the day's newest plan that has one."""
    for summary in await client.plans(day):
        plan = await client.plan(summary.id)
        if plan.roster:
            return plan.roster
    return []


def cmd_publish(args: argparse.Namespace) -> int:
    """Store the plan (visit ids may be request refs) with its roster, then publish it."""
    day = args.date or date.today()
    plan = _load_json(args.plan)
    given, _problems = _roster(args, day, _routing(args))
    roster = [r.model_dump(mode="json") for r in given]

    async def work(client: DispatchClient) -> Any:
        stored = await client.store_plan(day, plan, roster)
        return await client.publish(stored.id)

    result = _run(args, work)
    print(
        f"Published plan {result.plan_id}: {len(result.created)} visits created, "
        f"{len(result.changed)} changed, {len(result.unchanged)} unchanged, "
        f"{len(result.kept_under_way)} under way kept, {len(result.left_assigned)} not in the plan."
    )
    return 0


def _resolve(board: Board, wanted: list[str]) -> list[str]:
    from fieldapp.dispatch.replan import day_visits

    visits = day_visits(board)
    ids = {str(v.id): str(v.id) for v in visits} | {v.ref: str(v.id) for v in visits if v.ref}
    missing = [w for w in wanted if w not in ids]
    if missing:
        raise DispatchError(f"--cancel: no visit or request {missing[0]!r} on this day")
    return [ids[w] for w in wanted]


def cmd_replan(args: argparse.Namespace) -> int:
    """Cancel what was asked, re-plan around visits under way, store (and publish)."""
    from fieldapp.dispatch.replan import day_visits, replan

    day = args.date or date.today()
    settings = _routing(args)
    given, problems = _roster(args, day, settings)

    refs: dict[str, str] = {}

    async def work(client: DispatchClient) -> tuple[Any, Any, Any]:
        board = await client.board(day)
        refs.update({str(v.id): v.ref for v in day_visits(board) if v.ref})
        for visit_id in _resolve(board, args.cancel):
            board = await client.cancel(visit_id)
        roster = given or await latest_roster(client, day)
        if not roster:
            raise DispatchError("No roster for this day: give --clinicians clinicians.csv.")
        now = board.server_time
        result = await asyncio.to_thread(replan, board, roster, now, settings)
        result.plan["input_problems"] = [
            {"file": p.file, "row": p.row, "column": p.column, "problem": p.problem}
            for p in problems
        ]
        stored = await client.store_plan(
            day, result.plan, [r.model_dump(mode="json") for r in roster]
        )
        published = await client.publish(stored.id) if args.publish else None
        return result, stored, published

    result, stored, published = _run(args, work)
    if args.out:
        args.out.write_text(json.dumps(result.plan, indent=2) + "\n", encoding="utf-8")
    totals = result.plan.get("totals", {})
    print(
        f"Draft {stored.id}: {totals.get('visits_planned', 0)} visits planned, "
        f"{len(result.plan.get('unassigned', []))} left out, {len(result.fixed)} under way kept."
    )
    for left in result.plan.get("unassigned", []):
        name = refs.get(left["visit_id"], left["visit_id"])
        print(f"  unassigned {name}: {left['reason']}")
    if published is not None:
        print(f"Published: {len(published.created) + len(published.changed)} visits assigned.")
    return 0


def cmd_board(args: argparse.Namespace) -> int:
    """Open the board."""
    from fieldapp.clinical.protocol import load_protocol
    from fieldapp.services.clock import SystemClock
    from fieldapp.tui.board.app import BoardApp
    from fieldapp.tui.board.ports import BoardContext

    day = args.date or date.today()
    settings = _routing(args)
    roster, problems = _roster(args, day, settings)
    client = DispatchClient(_http(), _server(args), read_token(args.token_file))
    ctx = BoardContext(
        backend=client,
        day=day,
        protocol=load_protocol(),
        clock=SystemClock(),
        routing=settings,
        roster=roster or None,
        notes=tuple(f"clinicians.csv: {p}" for p in problems),
        poll_s=max(2.0, args.poll),
    )
    BoardApp(ctx).run()
    return 0


def _note_line(note: SafetyNotePublic) -> str:
    state = "withdrawn" if note.withdrawn else ("REVIEW DUE" if note.review_due else "active")
    return (
        f"{note.id}  patient {note.patient_id}  {note.category} ({note.level})  "
        f"review by {note.review_on}  expires {note.expires_on}  {state}"
    )


def cmd_safety_add(args: argparse.Namespace) -> int:
    """Record an address safety note."""
    body = {
        "patient_id": args.patient,
        "category": args.category,
        "level": args.level,
        "review_on": args.review.isoformat(),
        "expires_on": args.expires.isoformat(),
    }
    note = _run(args, lambda client: client.add_safety_note(body))
    print(f"Recorded: {_note_line(note)}")
    return 0


def cmd_safety_list(args: argparse.Namespace) -> int:
    """List address safety notes."""
    notes = _run(args, lambda client: client.safety_notes(args.patient))
    for note in notes:
        print(_note_line(note))
    if not notes:
        print("No safety notes.")
    return 0


def cmd_safety_withdraw(args: argparse.Namespace) -> int:
    """Withdraw an address safety note."""
    note = _run(args, lambda client: client.withdraw_safety_note(args.note))
    print(f"Withdrawn: {_note_line(note)}")
    return 0
