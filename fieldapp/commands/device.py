"""`fieldapp enroll`, `fieldapp sync` and `fieldapp checker-code`: this laptop's side of
the clinic server. `checker-code` asks the clinic, as this laptop's user, for a one-time
code to type when a colleague enrols them as the second checker on their laptop.

The passphrase comes from `FIELDAPP_PASSPHRASE` or a prompt; the device token is kept
only inside the encrypted store, the duress credential in the duress box beside it. Sync
errors print one sentence a clinician can act on.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from fieldapp.commands.passphrase import read_passphrase
from fieldapp.errors import FieldAppError
from fieldapp.settings import Settings, load_settings
from fieldapp.store import Store
from fieldapp.store.duress_box import DuressBox
from sync.client import SyncClient, SyncError, SyncProgress, enroll, make_http_client
from sync.errors import ServerUnreachable


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `enroll`, `sync` and `checker-code` commands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store", type=Path, default=None, help="store file (default from settings)"
    )
    parser = subparsers.add_parser(
        "enroll", parents=[common], help="enrol this laptop with the clinic server"
    )
    parser.add_argument("--server", required=True, help="clinic server URL (https://...)")
    parser.add_argument("--code", required=True, help="the one-time code from the clinic")
    parser.add_argument("--name", default=None, help="a name for this laptop")
    parser.set_defaults(handler=run_enroll)
    sync = subparsers.add_parser(
        "sync", parents=[common], help="hand in the outbox and download the day, once"
    )
    sync.set_defaults(handler=run_sync)
    code = subparsers.add_parser(
        "checker-code",
        parents=[common],
        help="a one-time code, as yourself, to type when enrolled as a colleague's second checker",
    )
    code.set_defaults(handler=run_checker_code)


def _open(args: argparse.Namespace, settings: Settings) -> Store:
    path = args.store.expanduser() if args.store else settings.store.resolved_path()
    store = Store.open(path, settings.store)
    try:
        store.unlock(read_passphrase("FIELDAPP_PASSPHRASE", "Passphrase: "))
    except BaseException:
        store.close()
        raise
    return store


def run_enroll(args: argparse.Namespace) -> int:
    """Redeem the code and keep the device identity in the store."""
    settings = load_settings()
    store = _open(args, settings)
    try:

        async def go() -> str:
            async with make_http_client(settings.sync) as http:
                identity = await enroll(
                    args.server,
                    args.code,
                    store,
                    http=http,
                    timeout_s=settings.sync.timeout_s,
                    device_name=args.name,
                    keep_duress_token=DuressBox.beside(store.path).keep_credential,
                )
            return identity.device_id

        device_id = asyncio.run(go())
    except SyncError as exc:
        raise FieldAppError(str(exc)) from None
    finally:
        store.close()
    print(f"enrolled: this laptop is device {device_id}")
    return 0


def run_sync(args: argparse.Namespace) -> int:
    """One sync round, with a summary line (telephone orders' co-sign requests first)."""
    from fieldapp.services.approvals import ApprovalLink
    from fieldapp.services.drafts import DraftBook
    from fieldapp.services.verbal import REFUSED_NOTE, CosignQueue

    settings = load_settings()
    store = _open(args, settings)

    def progress(event: SyncProgress) -> None:
        if event.phase in ("push", "pull"):
            print(f"  {event.message}", file=sys.stderr)

    try:

        async def go() -> str:
            async with make_http_client(settings.sync) as http:
                client = SyncClient(http, store, settings.sync, progress=progress)
                link = ApprovalLink(client, store, settings.sync.timeout_s)
                flushed = await CosignQueue(DraftBook(store)).flush(link)  # before the records
                if flushed.refused:
                    print(REFUSED_NOTE, file=sys.stderr)
                return (await client.sync_once()).summary()

        summary = asyncio.run(go())
    except SyncError as exc:
        raise FieldAppError(str(exc)) from None
    finally:
        store.close()
    print(f"sync done: {summary}")
    return 0


def run_checker_code(args: argparse.Namespace) -> int:
    """Ask the clinic for a one-time checker code for this laptop's user; print it."""
    settings = load_settings()
    store = _open(args, settings)
    try:

        async def go() -> tuple[str, datetime]:
            async with make_http_client(settings.sync) as http:
                return await SyncClient(http, store, settings.sync).checker_code()

        code, expires = asyncio.run(go())
    except ServerUnreachable:
        raise FieldAppError(
            "The clinic server cannot be reached: ask for the code again once online."
        ) from None
    except SyncError as exc:
        raise FieldAppError(str(exc)) from None
    finally:
        store.close()
    minutes = max(0, round((expires - datetime.now(UTC)).total_seconds() / 60))
    print(f"your checker code: {code}")
    print(
        f"single use, valid for {minutes} minutes: type it on the colleague's laptop when "
        "they enrol you as their second checker (`fieldapp store add-checker`)"
    )
    return 0
