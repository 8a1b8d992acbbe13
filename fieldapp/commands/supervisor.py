"""`fieldapp supervisor ...`: the supervisor's break-glass review from their own computer.

enroll | break-glass | review-break-glass. The supervisor enrols this computer once with a
one-time code (like any user: `fieldapp server user add NAME --role supervisor`, then
`fieldapp server enroll-code NAME`); the token is kept in `supervisor-token` in the user's
config folder (mode 0600), or given with `--token-file` / `FIELDAPP_SUPERVISOR_TOKEN`. A
review is the identity behind that token: there is no name to type.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import httpx

from fieldapp.commands.office import OfficeRole
from fieldapp.errors import FieldAppError
from fieldapp.settings import load_settings
from sync.break_glass import REASON_CODES, GrantForReview, Notice
from sync.client import make_http_client

TOKEN_ENV = "FIELDAPP_SUPERVISOR_TOKEN"  # noqa: S105  (a variable name, not a secret)


class SupervisorError(FieldAppError):
    """A supervisor command could not do its work (the sentence says why)."""


OFFICE = OfficeRole("supervisor", "supervisor", TOKEN_ENV, SupervisorError)
default_token_file = OFFICE.default_token_file


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `supervisor` command and its subcommands."""
    parser = subparsers.add_parser("supervisor", help="review break-glass access (supervisor)")
    sub = parser.add_subparsers(dest="supervisor_command", metavar="SUBCOMMAND", required=True)
    enroll = sub.add_parser("enroll", help="enrol this computer with a one-time code")
    _common(enroll)
    enroll.add_argument("--code", required=True, help="the one-time code from the admin")
    enroll.set_defaults(handler=cmd_enroll)
    listing = sub.add_parser("break-glass", help="break-glass accesses awaiting review")
    _common(listing)
    listing.add_argument("--all", action="store_true", help="every access, reviewed too")
    listing.set_defaults(handler=cmd_list)
    review = sub.add_parser("review-break-glass", help="mark an access reviewed (as yourself)")
    _common(review)
    review.add_argument("access", help="the access's id (from `supervisor break-glass`)")
    review.add_argument("--note", default=None, help="what you found (optional)")
    review.set_defaults(handler=cmd_review)


_common = OFFICE.add_server_args
_server = OFFICE.server


def _token(args: argparse.Namespace) -> str:
    return OFFICE.read_token(args.token_file)


def _call(args: argparse.Namespace, method: str, path: str, **kwargs: Any) -> Any:
    """One request with the supervisor's token; a refusal becomes a sentence."""
    server = _server(args)
    headers = {} if path == "/enroll" else {"Authorization": f"Bearer {_token(args)}"}

    async def main() -> httpx.Response:
        async with make_http_client(load_settings().sync) as http:
            return await http.request(method, server + path, headers=headers, **kwargs)

    try:
        response = asyncio.run(main())
    except httpx.TransportError:
        raise SupervisorError("The server cannot be reached: check the network.") from None
    if response.status_code == 401:
        raise SupervisorError("The server does not accept this token: enrol again.")
    if response.status_code == 403:
        raise SupervisorError("Only a supervisor may do this.")
    if response.status_code == 404:
        raise SupervisorError("There is no such access.")
    if response.status_code == 400:
        raise SupervisorError("The server did not accept that code: ask for a new one.")
    if response.status_code == 422:
        raise SupervisorError(f"Refused: {_first_message(response)}.")
    if response.status_code >= 300:
        raise SupervisorError(f"The server answered {response.status_code}: try again.")
    return response.json()


def _first_message(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"][0]["msg"])
    except (ValueError, LookupError, TypeError):
        return "the request was not accepted"


def cmd_enroll(args: argparse.Namespace) -> int:
    """Redeem a code; keep the token in a file only this user can read."""
    answer = _call(
        args, "POST", "/enroll", json={"code": args.code, "device_name": "supervisor desk"}
    )
    OFFICE.keep_token(args.token_file or default_token_file(), answer)
    return 0


def _describe(access: GrantForReview) -> str:
    reviewed = (
        f"reviewed by {access.reviewed_by} at {access.reviewed_at:%Y-%m-%d %H:%M}Z"
        if access.reviewed_at is not None
        else "AWAITING REVIEW"
    )
    return (
        f"{access.id}  {access.clinician} → patient {access.patient_id}\n"
        f"  {access.granted_at:%Y-%m-%d %H:%M}Z to {access.expires_at:%H:%M}Z "
        f"({access.minutes} min), {reviewed}\n"
        f"  reason: {REASON_CODES.get(access.reason_code, access.reason_code)}\n"
        f"  in their words: {access.reason}"
        + (f"\n  review note: {access.review_note}" if access.review_note else "")
    )


def cmd_list(args: argparse.Namespace) -> int:
    """The accesses awaiting review (the supervisor's notices), or every access."""
    if args.all:
        accesses = [GrantForReview.model_validate(a) for a in _call(args, "GET", "/break-glass")]
    else:
        notices = [Notice.model_validate(n) for n in _call(args, "GET", "/break-glass/notices")]
        accesses = [n.access for n in notices]
    if not accesses:
        print("No break-glass access awaits review." if not args.all else "No break-glass access.")
        return 0
    print("\n".join(_describe(a) for a in accesses))
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    """Mark one access reviewed by this token's supervisor."""
    body = {"note": args.note} if args.note else {}
    done = GrantForReview.model_validate(
        _call(args, "POST", f"/break-glass/{args.access}/review", json=body)
    )
    print(f"Reviewed by {done.reviewed_by}: {done.clinician}'s access to {done.patient_id}.")
    return 0
