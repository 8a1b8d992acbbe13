"""`fieldapp review`: the prescriber's or supervisor's console on their own enrolled store.

The reviewer enrols their laptop like any other (`fieldapp enroll`, with a code the clinic
made for their prescriber or supervisor account): their signing key goes to the clinic
then, and their answers are signed with it. The passphrase comes from
`FIELDAPP_PASSPHRASE` or a prompt.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path

from fieldapp.commands.passphrase import read_passphrase
from fieldapp.errors import FieldAppError, StoreError
from fieldapp.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `review` command."""
    parser = subparsers.add_parser(
        "review", help="the prescriber's or supervisor's console: approvals, co-signatures, tasks"
    )
    parser.add_argument(
        "--store", type=Path, default=None, help="store file (default from settings)"
    )
    parser.set_defaults(handler=run_review)


def run_review(args: argparse.Namespace) -> int:
    """Unlock the reviewer's store, find who they are, run the console."""
    from fieldapp.services.review import ReviewDesk, clinic_clock
    from fieldapp.store import Store
    from fieldapp.tui.review.app import ReviewApp
    from sync.approval_client import ApprovalClient
    from sync.client import SyncError, make_http_client

    settings = load_settings()
    path = args.store.expanduser() if args.store else settings.store.resolved_path()
    if not path.exists():
        raise StoreError(f"No store at {path}: create one with `fieldapp store init`.")
    store = Store.open(path, settings.store)
    try:
        store.unlock(read_passphrase("FIELDAPP_PASSPHRASE", "Passphrase: "))
        identity = store.device_identity()
        if identity is None:
            raise FieldAppError(
                "This store is not enrolled: `fieldapp enroll --server URL --code CODE` first."
            )

        async def who() -> dict[str, object]:
            # Its own connection: the console's event loop is not this one.
            async with make_http_client(settings.sync) as http:
                return await ApprovalClient(http, identity, settings.sync.timeout_s).me()

        try:
            me = asyncio.run(who())
        except SyncError as exc:
            raise FieldAppError(str(exc)) from None
        client = ApprovalClient(make_http_client(settings.sync), identity, settings.sync.timeout_s)
        if me.get("role") not in ("prescriber", "supervisor"):
            raise FieldAppError("The review console is for prescribers and supervisors.")
        clock = clinic_clock(datetime.fromisoformat(str(me["server_time"])))
        desk = ReviewDesk(client, store, str(me["user"]), str(me["role"]), clock)
        ReviewApp(desk).run()
    finally:
        store.close()
    return 0
