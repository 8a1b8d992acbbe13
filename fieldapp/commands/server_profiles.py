"""`fieldapp server clinician profile NAME`: a clinician's credentials, set from the host.

With no option it prints the profile; each option sets one field (the others stay), and
the clinician's laptop pulls the new version at its next sync. Audited with actor `cli`.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from fieldapp.commands.server import _admin, cli_actor
from fieldapp.errors import FieldAppError
from sync.records import ClinicianProfile
from sync.server import profiles
from sync.server.config import ServerSettings

STATES = re.compile(r"^[A-Z]{2}$")


def _yes_no(text: str) -> bool:
    answer = text.strip().lower()
    if answer not in ("yes", "no"):
        raise argparse.ArgumentTypeError("answer yes or no")
    return answer == "yes"


def _states(text: str) -> list[str]:
    found = [s.strip().upper() for s in text.split(",") if s.strip()]
    bad = [s for s in found if not STATES.match(s)]
    if bad:
        raise argparse.ArgumentTypeError("give two-letter state codes, comma-separated: WA,OR")
    return found


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `clinician profile` under `fieldapp server`."""
    clinician = sub.add_parser("clinician", help="clinicians' credentials").add_subparsers(
        dest="clinician_command", required=True
    )
    profile = clinician.add_parser(
        "profile", help="show or set a clinician's credentials (ACLS, licence, DEA states)"
    )
    profile.add_argument("name", help="the clinician's user name")
    profile.add_argument("--acls-expires", metavar="YYYY-MM-DD", default=None)
    profile.add_argument("--licence-active", type=_yes_no, metavar="yes|no", default=None)
    profile.add_argument(
        "--licence-expires", metavar="YYYY-MM-DD|none", default=None, help="none: no expiry"
    )
    profile.add_argument("--prescriber", default=None, help="the ordering prescriber's name")
    profile.add_argument(
        "--prescriber-dea-states",
        type=_states,
        metavar="WA,OR",
        default=None,
        help="states where the prescriber holds a DEA registration",
    )
    profile.set_defaults(handler=cmd_profile)


def cmd_profile(args: argparse.Namespace) -> int:
    """Show, or set then show, a clinician's profile."""
    changes: dict[str, Any] = {}
    if args.acls_expires is not None:
        changes["acls_expires"] = _parse_day(args.acls_expires, "--acls-expires")
    if args.licence_active is not None:
        changes["licence_active"] = args.licence_active
    if args.licence_expires is not None:
        changes["licence_expires"] = _parse_day(args.licence_expires, "--licence-expires")
    if args.prescriber is not None:
        changes["prescriber"] = args.prescriber.strip() or None
    if args.prescriber_dea_states is not None:
        changes["prescriber_dea_states"] = args.prescriber_dea_states

    def work(session: Any, _settings: ServerSettings, now: float) -> Any:
        if not changes:
            return profiles.get_profile(session, args.name), {"user": args.name, "read": True}
        profile = profiles.put_profile(session, args.name, changes, cli_actor(), now)
        detail = {"user": args.name, "fields": sorted(changes), "version": profile.version}
        return profile, detail

    action = "put_clinician_profile" if changes else "get_clinician_profile"
    profile = _admin(args, action, work)
    print(describe(profile))
    return 0


def _parse_day(text: str, option: str) -> Any:
    try:
        return profiles.parse_day(text, option)
    except profiles.Invalid as exc:
        raise FieldAppError(str(exc)) from None


def describe(profile: ClinicianProfile) -> str:
    """The profile as lines a person reads."""
    states = ", ".join(profile.prescriber_dea_states) or "none"
    return "\n".join(
        [
            f"clinician {profile.clinician_id} (version {profile.version}, set by "
            f"{profile.updated_by} at {profile.updated_at:%Y-%m-%d %H:%M} UTC)",
            f"  ACLS expires      {profile.acls_expires or 'not set'}",
            f"  licence           {'active' if profile.licence_active else 'NOT active'}"
            f", expires {profile.licence_expires or 'never'}",
            f"  prescriber        {profile.prescriber or 'not named'}",
            f"  prescriber DEA    {states}",
        ]
    )
