"""`fieldapp store init | info | verify | passwd | wipe`: the store, headless, for support.

The store is `--store PATH`, else `FIELDAPP_STORE`, else the user's default path. The
passphrase comes from `FIELDAPP_PASSPHRASE` or a prompt (`passwd` reads the new one from
`FIELDAPP_NEW_PASSPHRASE`). Nothing here prints patient data: only ids, kinds and counts.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from fieldapp.commands.passphrase import read_passphrase
from fieldapp.errors import StoreError, StoreWiped
from fieldapp.settings import StoreSettings, load_settings
from fieldapp.store import Store
from fieldapp.store.db import remove_files
from sync.client import SyncClient, SyncError, make_http_client


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `store` and its subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        type=Path,
        metavar="PATH",
        help="store file (default: FIELDAPP_STORE or per user)",
    )
    parser = subparsers.add_parser(
        "store", help="create, inspect, verify, re-key or wipe the store"
    )
    actions = parser.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    for name, handler, text in (
        ("init", run_init, "create a new encrypted store"),
        ("info", run_info, "counts and sync state (no passphrase, no patient data)"),
        (
            "verify",
            run_verify,
            "decrypt every record; check the outbox against the server's confirmed head "
            "and the clinic's records against its signed manifest; name each one that fails",
        ),
        ("passwd", run_passwd, "change the passphrase (the data key is re-wrapped)"),
        ("wipe", run_wipe, "crypto-erase the store: nothing can be read afterwards"),
        (
            "add-checker",
            run_add_checker,
            "enrol a colleague as a second checker on this laptop, with their own PIN and "
            "the one-time code the clinic issued to them (they type both)",
        ),
    ):
        sub = actions.add_parser(name, parents=[common], help=text, description=text)
        if name == "wipe":
            sub.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        if name == "add-checker":
            sub.add_argument("user", help="the colleague's clinic user name")
        sub.set_defaults(handler=handler)


def _settings_and_path(args: argparse.Namespace) -> tuple[StoreSettings, Path]:
    settings = load_settings().store
    path = args.store.expanduser() if args.store else settings.resolved_path()
    return settings, path


def run_init(args: argparse.Namespace) -> int:
    """Create a store."""
    settings, path = _settings_and_path(args)
    passphrase = read_passphrase("FIELDAPP_PASSPHRASE", "New passphrase: ", confirm=True)
    with Store.create(path, passphrase, settings):
        pass
    print(f"Created an encrypted store at {path}.")
    return 0


def run_info(args: argparse.Namespace) -> int:
    """Print counts and sync state (readable metadata only)."""
    settings, path = _settings_and_path(args)
    with Store.open(path, settings) as store:
        info = store.info()
    sync = info.sync
    lines = [
        f"store           {info.path}",
        f"store id        {info.store_id}",
        f"schema version  {info.schema_version}",
        f"key             Argon2id m={info.kdf.memory_kib} KiB t={info.kdf.iterations} "
        f"p={info.kdf.lanes}, generation {info.key_generation}, {info.encryptions} encryptions",
        f"unlock failures {info.unlock_failures}",
        f"drafts          {info.drafts}",
        "records         "
        + (", ".join(f"{k} {n}" for k, n in sorted(info.counts.items())) or "none"),
        f"outbox          {sync.pending} pending, {sync.set_aside} set aside, {sync.synced} synced",
        f"last sync       {sync.last_attempt_at or 'never'}"
        + ("" if sync.last_ok is None else (" (ok)" if sync.last_ok else " (failed)")),
        f"last success    {sync.last_success_at or 'never'}",
    ]
    print("\n".join(lines))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Decrypt everything; exit 1 if any record, draft, the outbox chain or state, or a
    clinic record (missing or older than the clinic's manifest) fails."""
    settings, path = _settings_and_path(args)
    with Store.open(path, settings) as store:
        store.unlock(read_passphrase("FIELDAPP_PASSPHRASE", "Passphrase: "))
        report = store.verify()
    for failure in report.failures:
        print(f"FAILED {failure.kind} {failure.record_id}")
    if not report.integrity_ok:
        print("FAILED SQLite integrity check")
    if not report.chain_ok:
        print(f"FAILED outbox chain: {report.chain_problem}")
    for problem in report.outbox_problems:
        print(f"FAILED outbox state: {problem}")
    for problem in report.clinic_problems:
        print(f"FAILED clinic record: {problem}")
    verdict = "ok" if report.ok else "problems found"
    print(
        f"{verdict}: {report.records_ok} records and {report.drafts_ok} drafts read, "
        f"{len(report.failures)} failed"
    )
    return 0 if report.ok else 1


def run_add_checker(args: argparse.Namespace) -> int:
    """Enrol a second checker: the colleague types their own PIN (twice) and the one-time
    code the clinic issued to them (`fieldapp checker-code` on their own laptop); their
    public key goes to the clinic with it now if the laptop is enrolled and online, else
    at the next sync."""
    settings, path = _settings_and_path(args)
    with Store.open(path, settings) as store:
        store.unlock(read_passphrase("FIELDAPP_PASSPHRASE", "Passphrase: "))
        pin = read_passphrase("FIELDAPP_CHECKER_PIN", f"{args.user}'s own PIN: ", confirm=True)
        code = read_passphrase(
            "FIELDAPP_CHECKER_CODE", f"{args.user}'s checker code from the clinic: "
        )
        if not code.strip():
            raise StoreError(
                f"{args.user} types the checker code the clinic issued to them "
                "(`fieldapp checker-code` on their own laptop, or from an admin): "
                "nothing was enrolled."
            )
        public = store.enrol_checker(args.user, pin, code)
        print(f"enrolled {args.user} as a second checker on this laptop; their key: {public}")
        print(_file_checkers(store, args.user))
    return 0


def _file_checkers(store: Store, user: str) -> str:
    """File the checkers' keys with the clinic now; a sentence on how `user`'s went."""
    if store.device_identity() is None:
        return "this laptop is not enrolled with a clinic: the key is filed once it is"

    async def go() -> dict[str, str]:
        sync = load_settings().sync
        async with make_http_client(sync) as http:
            return await SyncClient(http, store, sync).file_checkers()

    try:
        refused = asyncio.run(go())
    except SyncError as exc:
        return f"the key was not filed with the clinic yet ({exc}); the next sync files it"
    if user in refused:
        return (
            f"the clinic refused the key of {user}; doses they check are set aside until it "
            f"files one:\n  {refused[user]}"
        )
    return "the key is filed with the clinic"


def run_passwd(args: argparse.Namespace) -> int:
    """Change the passphrase."""
    settings, path = _settings_and_path(args)
    with Store.open(path, settings) as store:
        old = read_passphrase("FIELDAPP_PASSPHRASE", "Current passphrase: ")
        new = read_passphrase("FIELDAPP_NEW_PASSPHRASE", "New passphrase: ", confirm=True)
        store.change_passphrase(old, new)
    print("Passphrase changed.")
    return 0


def run_wipe(args: argparse.Namespace) -> int:
    """Crypto-erase the store after confirmation."""
    settings, path = _settings_and_path(args)
    try:
        store = Store.open(path, settings)
    except StoreWiped:
        # Wiped before, but the files survived (a crash mid-wipe): its key is already gone.
        remove_files(path)
        print(f"{path} was already wiped; its leftover files are deleted now.")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            store.close()
            raise StoreError("Refusing to wipe without confirmation: add --yes.")
        answer = input(f"Wipe {path}? Its data can never be read again. Type 'wipe': ")
        if answer.strip().lower() != "wipe":
            store.close()
            print("Nothing was wiped.")
            return 1
    store.wipe()
    print(f"Wiped {path}: the data key is destroyed and the files are deleted.")
    return 0
