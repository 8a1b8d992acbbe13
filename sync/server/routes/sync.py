"""`POST /sync/push`, `POST /sync/pull` and `POST /sync/wiped`: the device's sync calls.

A revoked device may still push (its unsynced work reaches the clinic, answered with
`revoked: true`); every other call answers 401 `{"error": "device_revoked", "wipe": true}`.
Once it has wiped its store it reports so with `POST /sync/wiped`.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Response

from sync.server import approvals, audit
from sync.server.db import transaction
from sync.server.deps import AnyPrincipal, AppContext, Ctx, Principal, Token, caller_transaction
from sync.server.errors import AuthError, HeadMismatch, ServerError, StoreRolledBack
from sync.server.fastjson import FastJsonRoute
from sync.server.models import Device
from sync.server.pull import pull as pull_page
from sync.server.push import check_head
from sync.server.push import push as push_batch
from sync.server.schemas import PullRequest, PullResponse, PushRequest, PushResponse

# The busiest routes, with the largest bodies: orjson reads them (`fastjson`).
router = APIRouter(prefix="/sync", tags=["sync"], route_class=FastJsonRoute)


def _orjson(answer: dict[str, Any]) -> Response:
    """The answer as JSON, written by orjson (dataclasses, UTC times with a Z). Built here in
    the shape of the route's `response_model`, which documents it: FastAPI need not
    validate it again."""
    return Response(orjson.dumps(answer, option=orjson.OPT_UTC_Z), media_type="application/json")


def _refused(ctx: Ctx, principal: Principal, exc: ServerError, action: str) -> ServerError:
    """Audit a refusal over the device's chain (ids and seqs only) and hand it back.

    `server_behind` is how a database restored from a backup shows itself: the device was
    confirmed seqs the server no longer holds. The device then sends them again.
    """
    detail: dict[str, Any] = {"server_head": principal.head_seq}
    if isinstance(exc, HeadMismatch):
        detail["detail"] = str(exc)
    ctx.audit(
        actor=principal.user,
        device_id=principal.device_id,
        action=action,
        outcome=exc.code,
        detail=detail,
    )
    return exc


@router.post("/push", response_model=PushResponse)
def push(body: PushRequest, creds: Token, ctx: Ctx) -> Response:
    """Store a batch of outbox items; a result for each, in seq order."""
    try:
        with caller_transaction(ctx, creds, allow_revoked=True) as (session, principal):
            _may_push(ctx, principal, body)
            summary = push_batch(session, principal, body, ctx.now())
            detail: dict[str, Any] = {"counts": summary.counts(), "applied": summary.applied_ids}
            if summary.set_aside_ids:
                detail["set_aside"] = summary.set_aside_ids
            for order in summary.telephone_orders:  # its laptop's request had not come
                row = approvals.raise_from_record(
                    session, principal, order, ctx.settings, ctx.now()
                )
                audit.append(
                    session,
                    actor=principal.user,
                    device_id=principal.device_id,
                    action="approval_request",
                    outcome="raised_from_record",
                    detail={"request": row.id, "kind": row.kind, "record_id": order.item.rid},
                    now=ctx.clock(),
                )
            for refused in summary.signatures_refused:  # why, one event each (ids only)
                audit.append(
                    session,
                    actor=principal.user,
                    device_id=principal.device_id,
                    action="pushed_signature",
                    outcome=f"refused_{refused.reason}",
                    detail=refused.detail(),
                    now=ctx.clock(),
                )
            audit.append(
                session,
                actor=principal.user,
                device_id=principal.device_id,
                action="push",
                outcome="revoked_device" if principal.revoked else "ok",
                detail=detail,
                now=ctx.clock(),
                commit=True,
            )
    except (StoreRolledBack, HeadMismatch) as exc:
        raise _refused(ctx, principal, exc, "push") from None
    answer = {
        "results": summary.results,
        "revoked": principal.revoked,
        "head": summary.head,
        "server_time": ctx.clock(),
    }
    return _orjson(answer)


def _may_push(ctx: AppContext, principal: Principal, body: PushRequest) -> None:
    """Refuse a push from anyone but a clinician's device, or one too large."""
    if principal.role != "clinician":
        raise HTTPException(
            403, {"error": "forbidden", "detail": "Only clinicians' devices push records."}
        )
    if principal.revoked and not ctx.settings.accept_push_from_revoked:
        raise AuthError(
            "device_revoked", "This device was revoked: it must wipe its store.", wipe=True
        )
    if len(body.items) > ctx.settings.max_push_items:
        raise HTTPException(
            413,
            {
                "error": "body_too_large",
                "detail": f"At most {ctx.settings.max_push_items} records a push.",
            },
        )


@router.post("/pull", response_model=PullResponse)
def pull(body: PullRequest, creds: Token, ctx: Ctx) -> Response:
    """One page of the clinician's scope after the cursor."""
    limit = min(body.limit or ctx.settings.pull_page_size, ctx.settings.pull_page_size)
    try:
        with caller_transaction(ctx, creds, roles=("clinician",)) as (session, principal):
            check_head(principal, body.head)
            page = pull_page(
                session,
                principal.user,
                body.cursor,
                limit,
                ctx.today(),
                ctx.settings.pull_days_ahead,
                device_id=principal.device_id,
                manifest=body.manifest,
                now=ctx.now(),
                mark_seen=True,
            )
            for grant_id, patient_id in page.break_glass_reads():  # every read, one event each
                audit.append(
                    session,
                    actor=principal.user,
                    device_id=principal.device_id,
                    action="break_glass_read",
                    outcome="ok",
                    detail={"grant": grant_id, "patient": patient_id, "via": "pull"},
                    now=ctx.clock(),
                )
            audit.append(
                session,
                actor=principal.user,
                device_id=principal.device_id,
                action="pull",
                outcome="ok",
                detail={
                    "visits": page.ids("visit"),
                    "patients": page.ids("patient"),
                    "removals": len(page.removals),
                },
                now=ctx.clock(),
                commit=True,
            )
    except (StoreRolledBack, HeadMismatch) as exc:
        raise _refused(ctx, principal, exc, "pull") from None
    # Stored records go into the answer as the JSON they are stored as (never parsed here).
    answer = {
        "upserts": [
            {"kind": kind, "record": orjson.Fragment(record)} for kind, _, record in page.upserts
        ],
        "removals": [{"kind": kind, "id": rid} for kind, rid in page.removals],
        "cursor": page.cursor,
        "more": page.more,
        "head": {"seq": principal.head_seq, "chain_hash": principal.head_hash},
        "manifest": page.manifest.to_wire() if page.manifest is not None else None,
        "server_time": ctx.clock(),
    }
    return _orjson(answer)


@router.post("/wiped", status_code=204)
def wiped(principal: AnyPrincipal, ctx: Ctx) -> None:
    """A revoked device reports that it crypto-erased its store."""
    with transaction(ctx.engine) as session:
        device = session.get(Device, principal.device_id)
        if device is not None and device.wiped_at is None:
            device.wiped_at = ctx.now()
            session.add(device)
        audit.append(
            session,
            actor=principal.user,
            device_id=principal.device_id,
            action="wipe",
            outcome="ok",
            now=ctx.clock(),
        )
