"""`fieldapp server ...`: run, migrate, and administer the clinic server from its host.

run | migrate | user add | enroll-code | checker-code | device list | device revoke |
audit verify | audit head | import-day; report, export, hold and purge (`server_records.py`);
clinician profile (`server_profiles.py`).
Administrative changes made here are audited with the actor `cli`.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import pwd
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

from fieldapp.errors import ConfigError, FieldAppError
from sync.records import PatientSummary, ProtocolDocument, RecordInvalid, Visit, parse_record
from sync.server import audit, crud
from sync.server.auth import create_enroll_code
from sync.server.checker_codes import issue_checker_code
from sync.server.config import ServerConfigError, ServerSettings, load_server_settings
from sync.server.db import folder_open_to_others, make_engine, transaction
from sync.server.errors import ServerError

ROLES = ("clinician", "dispatcher", "admin", "prescriber", "supervisor")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `server` command and its subcommands."""
    parser = subparsers.add_parser("server", help="run and administer the clinic server")
    parser.add_argument(
        "--config", type=Path, default=None, help="server TOML (default config/server.toml)"
    )
    parser.add_argument(
        "--database-url", default=None, help="overrides database_url / FIELDAPP_DATABASE_URL"
    )
    sub = parser.add_subparsers(dest="server_command", metavar="SUBCOMMAND", required=True)

    run = sub.add_parser("run", help="serve the API with uvicorn")
    run.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--workers", type=int, default=1, help="worker processes (PostgreSQL for >1)")
    run.add_argument("--certfile", type=Path, default=None, help="TLS certificate (PEM)")
    run.add_argument("--keyfile", type=Path, default=None, help="TLS private key (PEM)")
    run.add_argument(
        "--behind-tls-proxy",
        action="store_true",
        help="allow plain HTTP off loopback (a TLS proxy in front)",
    )
    run.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="comma-separated addresses of the TLS proxies whose X-Forwarded-For names the "
        "client (rate limits key on it); default 127.0.0.1",
    )
    run.set_defaults(handler=cmd_run)

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.add_argument(
        "--app-role",
        default=None,
        help="PostgreSQL: create/grant the app role (INSERT+SELECT only on audit)",
    )
    migrate.set_defaults(handler=cmd_migrate)

    user = sub.add_parser("user", help="manage users").add_subparsers(
        dest="user_command", required=True
    )
    add = user.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--display-name", default=None)
    add.set_defaults(handler=cmd_user_add)

    code = sub.add_parser("enroll-code", help="print a one-time enrollment code for a user")
    code.add_argument("user")
    code.set_defaults(handler=cmd_enroll_code)

    checker = sub.add_parser(
        "checker-code",
        help="print a one-time checker code for a clinician or prescriber (they type it when "
        "enrolled as a colleague's second checker)",
    )
    checker.add_argument("user")
    checker.set_defaults(handler=cmd_checker_code)

    device = sub.add_parser("device", help="list or revoke devices").add_subparsers(
        dest="device_command", required=True
    )
    device.add_parser("list", help="list enrolled devices").set_defaults(handler=cmd_device_list)
    revoke = device.add_parser("revoke", help="revoke a device (it wipes at its next contact)")
    revoke.add_argument("device_id")
    revoke.set_defaults(handler=cmd_device_revoke)

    audit_cmd = sub.add_parser("audit", help="audit log tools").add_subparsers(
        dest="audit_command", required=True
    )
    verify = audit_cmd.add_parser("verify", help="check the audit hash chain")
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="LINE_OR_FILE",
        help="an anchor line from `audit head`, or a file of them; the chain must still "
        "reach each one (repeatable)",
    )
    verify.set_defaults(handler=cmd_audit_verify)
    head = audit_cmd.add_parser(
        "head", help="print the chain's head as an anchor line (audited as audit_head)"
    )
    head.add_argument(
        "--append-to",
        type=Path,
        default=None,
        metavar="FILE",
        help="also append the line to FILE (an anchor log kept off the database host)",
    )
    head.set_defaults(handler=cmd_audit_head)

    day = sub.add_parser("import-day", help="load clinicians, patients and visits from JSON")
    day.add_argument("file", type=Path)
    day.set_defaults(handler=cmd_import_day)

    records = sub.add_parser(
        "import-records", help="load patients' clinical records from the clinic's CSV"
    )
    records.add_argument("file", type=Path)
    records.set_defaults(handler=cmd_import_records)

    from fieldapp.commands import server_profiles, server_records  # built on this module

    server_records.register(sub)
    server_profiles.register(sub)


def settings_from(args: argparse.Namespace) -> ServerSettings:
    """Server settings from --config, the environment and --database-url."""
    try:
        return load_server_settings(args.config, database_url=args.database_url)
    except ServerConfigError as exc:
        raise ConfigError(str(exc)) from None


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port_free(host: str, port: int) -> None:
    """Refuse at once, in a sentence, an address another program already listens on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise FieldAppError(
                f"Cannot listen on {host}:{port}: the port is in use or the address is not "
                "this machine's. Choose another with --port or --host."
            ) from None


def cmd_run(args: argparse.Namespace) -> int:
    """Serve with uvicorn; every worker builds the app from the same settings."""
    import uvicorn

    settings = settings_from(args)
    tls = args.certfile is not None
    if (args.certfile is None) != (args.keyfile is None):
        raise FieldAppError("Give both --certfile and --keyfile, or neither.")
    if not tls and not _is_loopback(args.host) and not args.behind_tls_proxy:
        raise FieldAppError(
            "Refusing plain HTTP on a network address: give --certfile/--keyfile, "
            "or --behind-tls-proxy if a TLS proxy terminates in front."
        )
    if args.workers > 1 and not settings.is_postgres:
        raise FieldAppError(
            "Several workers need PostgreSQL: set --database-url postgresql+psycopg://..."
        )
    os.environ["FIELDAPP_DATABASE_URL"] = settings.database_url
    if args.config is not None:
        os.environ["FIELDAPP_SERVER_CONFIG"] = str(args.config)
    _check_port_free(args.host, args.port)
    # uvicorn runs quiet (warnings only): say where it listens, never the database URL.
    scheme = "https" if tls else "http"
    host = f"[{args.host}]" if ":" in args.host else args.host
    database = "PostgreSQL" if settings.is_postgres else "SQLite"
    print(
        f"clinic server listening on {scheme}://{host}:{args.port} "
        f"({database}, {args.workers} worker{'s' if args.workers > 1 else ''}); Ctrl+C stops it",
        flush=True,
    )
    uvicorn.run(
        "sync.server.asgi:create",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        ssl_certfile=str(args.certfile) if tls else None,
        ssl_keyfile=str(args.keyfile) if tls else None,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        log_level="warning",
        access_log=False,  # URLs carry ids only, but keep logs quiet by default
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Upgrade the schema (and set up the PostgreSQL app role)."""
    from sync.server.migrate import migrate

    settings = settings_from(args)
    try:
        revision = migrate(settings.database_url, app_role=args.app_role)
    except ValueError as exc:
        raise FieldAppError(str(exc)) from None
    print(f"database at revision {revision}")
    folder = folder_open_to_others(settings.database_url)
    if folder is not None:
        print(
            f"warning: other users of this host may enter {folder}: give the database a "
            f"folder of its own, or `chmod 700 {folder}`",
            file=sys.stderr,
        )
    return 0


def cli_actor() -> str:
    """Who acts from the server's command line, as the audit and every record it makes name
    them: `cli:` and the operating-system account that ran the command (its uid's entry,
    not an environment variable anyone could set)."""
    try:
        login = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid with no entry (a container): the uid
        login = f"uid{os.geteuid()}"
    return "cli:" + re.sub(r"[^A-Za-z0-9._-]", "_", login)[:32]


def _admin(args: argparse.Namespace, action: str, work: Any) -> Any:
    """Run `work(session, now)` in one transaction with an audit event by `cli_actor()`."""
    settings = settings_from(args)
    engine = make_engine(settings)
    try:
        with transaction(engine) as session:
            result, detail = work(session, settings, time.time())
            audit.append(session, actor=cli_actor(), action=action, outcome="ok", detail=detail)
            return result
    except ServerError as exc:
        raise FieldAppError(str(exc)) from None
    finally:
        engine.dispose()


def cmd_user_add(args: argparse.Namespace) -> int:
    """Add a user."""

    def work(session: Any, _settings: ServerSettings, now: float) -> Any:
        user = crud.add_user(session, args.name, args.role, now, args.display_name)
        return user, {"user": user.name, "role": user.role}

    user = _admin(args, "add_user", work)
    print(f"added {user.role} {user.name}")
    return 0


def cmd_enroll_code(args: argparse.Namespace) -> int:
    """Print a one-time enrollment code."""

    def work(session: Any, settings: ServerSettings, now: float) -> Any:
        return create_enroll_code(session, args.user, settings, now), {"user": args.user}

    code, expires = _admin(args, "enroll_code", work)
    minutes = round((expires - time.time()) / 60)
    print(f"enrollment code for {args.user}: {code}")
    print(f"single use, valid for {minutes} minutes")
    return 0


def cmd_checker_code(args: argparse.Namespace) -> int:
    """Print a one-time checker code, to hand to the colleague it is for."""

    def work(session: Any, settings: ServerSettings, now: float) -> Any:
        issued = issue_checker_code(session, args.user, cli_actor(), settings, now)
        return issued, {"user": args.user}

    code, expires = _admin(args, "checker_code", work)
    minutes = round((expires - time.time()) / 60)
    print(f"checker code for {args.user}: {code}")
    print(
        f"single use, valid for {minutes} minutes: hand it to {args.user} alone; they type it "
        "when enrolled as a colleague's second checker"
    )
    return 0


def cmd_device_list(args: argparse.Namespace) -> int:
    """List devices."""
    settings = settings_from(args)
    engine = make_engine(settings)
    try:
        with transaction(engine) as session:
            devices = crud.list_devices(session)
    finally:
        engine.dispose()
    print(f"{'DEVICE':36}  {'USER':12}  {'NAME':20}  {'ENROLLED':16}  STATE")
    for d in devices:
        state = "wiped" if d.wiped_at else "revoked" if d.revoked_at else "active"
        enrolled = time.strftime("%Y-%m-%d %H:%M", time.gmtime(d.created_at))
        print(f"{d.id:36}  {d.user_name:12}  {d.name[:20]:20}  {enrolled:16}  {state}")
    return 0


def cmd_device_revoke(args: argparse.Namespace) -> int:
    """Revoke a device."""

    def work(session: Any, _settings: ServerSettings, now: float) -> Any:
        device = crud.revoke_device(session, args.device_id, now)
        return device, {"device": device.id}

    device = _admin(args, "revoke_device", work)
    print(f"revoked {device.id} ({device.user_name}): refused from its next request, told to wipe")
    return 0


def _read_anchors(values: list[str]) -> list[audit.AuditAnchor]:
    """Anchors from `--anchor` values: an anchor line itself, or a file of them."""
    anchors: list[audit.AuditAnchor] = []
    for value in values:
        is_line = value.startswith(audit.ANCHOR_TAG + " ")
        source = f"--anchor {value!r}" if is_line else value
        try:
            text = value if is_line else Path(value).read_text(encoding="utf-8")
            found = audit.parse_anchors(text)
        except OSError as exc:
            raise FieldAppError(f"{value}: cannot read this anchor file ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise FieldAppError(f"{value}: not an anchor log (not UTF-8 text)") from None
        except audit.AnchorInvalid as exc:
            raise FieldAppError(f"{source}: {exc}") from None
        if not found:  # an empty log would silently check nothing
            raise FieldAppError(f"{value}: holds no anchor lines")
        anchors += found
    return anchors


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Verify the audit chain and any anchors; exit 1 naming the first bad entry."""
    anchors = _read_anchors(args.anchor)
    settings = settings_from(args)
    engine = make_engine(settings)
    try:
        with transaction(engine) as session:
            count, problem = audit.verify(session, anchors)
    finally:
        engine.dispose()
    if problem is not None:
        print(f"audit chain BROKEN: {problem}")
        return 1
    print(f"audit chain ok: {count} entries")
    if anchors:
        newest = max(anchor.seq for anchor in anchors)
        print(f"anchors ok: all {len(anchors)} present, the newest at entry {newest}")
    return 0


def cmd_audit_head(args: argparse.Namespace) -> int:
    """Print the chain's head as an anchor line, and append it to --append-to.

    Reading the head is itself audited, so the head printed is that `audit_head` event:
    the anchor then names an entry that records when it was taken.
    """
    settings = settings_from(args)
    engine = make_engine(settings)
    try:
        with transaction(engine) as session:
            event = audit.append(session, actor=cli_actor(), action="audit_head", outcome="ok")
            anchor = audit.AuditAnchor.of(event)
    finally:
        engine.dispose()
    line = str(anchor)
    print(line)
    if args.append_to is not None:
        try:
            with args.append_to.open("a", encoding="utf-8") as anchor_log:
                anchor_log.write(line + "\n")
        except OSError as exc:
            raise FieldAppError(
                f"{args.append_to}: cannot append the anchor ({exc.strerror}); "
                "keep the line printed above instead"
            ) from None
    return 0


def cmd_import_day(args: argparse.Namespace) -> int:
    """Load a day's clinicians, patients and visits (sync.records JSON)."""
    try:
        data = json.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FieldAppError(
            f"{args.file}: cannot be read as JSON ({exc.__class__.__name__})"
        ) from None
    try:
        patients = [parse_record("patient", p) for p in data.get("patients", [])]
        visits = [parse_record("visit", v) for v in data.get("visits", [])]
        docs = [parse_record("protocol_doc", d) for d in data.get("protocol_docs", [])]
    except RecordInvalid as exc:
        raise FieldAppError(f"{args.file}: {exc}") from None

    def work(session: Any, _settings: ServerSettings, now: float) -> Any:
        added = 0
        for clinician in data.get("clinicians", []):
            if session.get(crud.AppUser, clinician["id"]) is None:
                crud.add_user(session, clinician["id"], "clinician", now, clinician.get("name"))
                added += 1
        for p in patients:
            assert isinstance(p, PatientSummary)
            crud.put_patient_summary(session, p, now)
        for v in visits:
            assert isinstance(v, Visit)
            crud.put_visit(session, v, now)
        for d in docs:
            assert isinstance(d, ProtocolDocument)
            crud.put_protocol_doc(session, d, now)
        counts = {
            "clinicians": added,
            "patients": len(patients),
            "visits": len(visits),
            "docs": len(docs),
        }
        return counts, counts

    counts = _admin(args, "import_day", work)
    print(
        f"imported {counts['patients']} patients, {counts['visits']} visits, "
        f"{counts['docs']} protocol documents; {counts['clinicians']} new clinicians"
    )
    return 0


def cmd_import_records(args: argparse.Namespace) -> int:
    """Load the clinic's CSV of clinical records: every record in it, or none."""
    from sync.server import clinical

    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FieldAppError(
            f"{args.file}: cannot be read as UTF-8 text ({exc.__class__.__name__})"
        ) from None

    def work(session: Any, _settings: ServerSettings, now: float) -> Any:
        counts = clinical.import_csv(session, text, cli_actor(), now)
        return counts, counts

    try:
        counts = _admin(args, "import_clinical_records", work)
    except FieldAppError as exc:
        raise FieldAppError(f"{args.file}: {exc}") from None
    print(
        f"imported the clinical records of {counts['patients']} patients "
        f"({counts['entries']} entries)"
    )
    return 0
