"""Admin routes: users, enrollment codes, devices, set-aside records. Admin role only."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from sync.records import ClinicianProfile
from sync.server import audit, crud, profiles
from sync.server.auth import create_enroll_code
from sync.server.checker_codes import issue_audited
from sync.server.db import transaction
from sync.server.deps import Admin, Ctx
from sync.server.models import Device
from sync.server.schemas import (
    CheckerCodePublic,
    ClinicianProfileUpdate,
    DevicePublic,
    EnrollCodePublic,
    ReviewItemPublic,
    UserCreate,
    UserName,
    UserPublic,
)

router = APIRouter(prefix="/admin", tags=["admin"])


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def device_public(device: Device) -> DevicePublic:
    """A device without its token hash."""
    return DevicePublic(
        id=device.id,
        user=device.user_name,
        name=device.name,
        created_at=datetime.fromtimestamp(device.created_at, UTC),
        expires_at=datetime.fromtimestamp(device.expires_at, UTC),
        revoked_at=_ts(device.revoked_at),
        wiped_at=_ts(device.wiped_at),
        last_seen_at=_ts(device.last_seen_at),
        head_seq=device.head_seq,
    )


@router.get("/users", response_model=list[UserPublic])
def list_users(who: Admin, ctx: Ctx) -> list[UserPublic]:
    """Every user."""
    with transaction(ctx.engine) as session:
        return [
            UserPublic.model_validate(u, from_attributes=True) for u in crud.list_users(session)
        ]


@router.post("/users", response_model=UserPublic, status_code=201)
def add_user(body: UserCreate, who: Admin, ctx: Ctx) -> UserPublic:
    """Add a clinician, dispatcher or admin."""
    with transaction(ctx.engine) as session:
        user = crud.add_user(session, body.name, body.role, ctx.now(), body.display_name)
        audit.append(
            session,
            actor=who.user,
            device_id=who.device_id,
            action="add_user",
            outcome="ok",
            detail={"user": user.name, "role": user.role},
            now=ctx.clock(),
        )
        return UserPublic.model_validate(user, from_attributes=True)


@router.post("/users/{name}/enroll-code", response_model=EnrollCodePublic, status_code=201)
def enroll_code(name: UserName, who: Admin, ctx: Ctx) -> EnrollCodePublic:
    """A one-time enrollment code for this user (15 minutes, single use, 5 tries)."""
    with transaction(ctx.engine) as session:
        code, expires = create_enroll_code(session, name, ctx.settings, ctx.now())
        audit.append(
            session,
            actor=who.user,
            device_id=who.device_id,
            action="enroll_code",
            outcome="ok",
            detail={"user": name},
            now=ctx.clock(),
        )
    return EnrollCodePublic(user=name, code=code, expires_at=datetime.fromtimestamp(expires, UTC))


@router.post("/users/{name}/checker-code", response_model=CheckerCodePublic, status_code=201)
def checker_code(name: UserName, who: Admin, ctx: Ctx) -> CheckerCodePublic:
    """A one-time checker code for this clinician or prescriber, to hand to them (they type
    it when enrolled as a second checker on a colleague's laptop; single use, short-lived)."""
    with transaction(ctx.engine) as session:
        code, expires = issue_audited(
            session, name, who.user, ctx.settings, ctx.now(), who.device_id, ctx.clock()
        )
    return CheckerCodePublic(user=name, code=code, expires_at=datetime.fromtimestamp(expires, UTC))


@router.get("/devices", response_model=list[DevicePublic])
def list_devices(who: Admin, ctx: Ctx) -> list[DevicePublic]:
    """Every enrolled device."""
    with transaction(ctx.engine) as session:
        return [device_public(d) for d in crud.list_devices(session)]


@router.post("/devices/{device_id}/revoke", response_model=DevicePublic)
def revoke_device(device_id: str, who: Admin, ctx: Ctx) -> DevicePublic:
    """Revoke a device: refused from its next request and told to wipe."""
    with transaction(ctx.engine) as session:
        device = crud.revoke_device(session, device_id, ctx.now())
        audit.append(
            session,
            actor=who.user,
            device_id=who.device_id,
            action="revoke_device",
            outcome="ok",
            detail={"device": device.id},
            now=ctx.clock(),
        )
        return device_public(device)


@router.get("/review", response_model=list[ReviewItemPublic])
def review(who: Admin, ctx: Ctx) -> list[ReviewItemPublic]:
    """Records set aside for review (ids and reasons)."""
    with transaction(ctx.engine) as session:
        return [
            ReviewItemPublic(
                id=item.id or 0,
                device_id=item.device_id,
                user=item.user_name,
                seq=item.seq,
                kind=item.kind,
                record_id=item.record_id,
                status=item.status,
                reason=item.reason,
            )
            for item in crud.list_review(session)
        ]


@router.get("/clinicians/{name}/profile", response_model=ClinicianProfile)
def get_profile(name: UserName, who: Admin, ctx: Ctx) -> ClinicianProfile:
    """A clinician's credentials as the clinic holds them."""
    with transaction(ctx.engine) as session:
        return profiles.get_profile(session, name)


@router.put("/clinicians/{name}/profile", response_model=ClinicianProfile)
def put_profile(
    name: UserName, body: ClinicianProfileUpdate, who: Admin, ctx: Ctx
) -> ClinicianProfile:
    """Set a clinician's credentials (only the fields sent); their laptop pulls them."""
    changes = body.model_dump(exclude_unset=True)
    if changes.get("licence_active", False) is None:
        changes.pop("licence_active")  # null means "not said", never "not active"
    with transaction(ctx.engine) as session:
        profile = profiles.put_profile(session, name, changes, who.user, ctx.now())
        audit.append(
            session,
            actor=who.user,
            device_id=who.device_id,
            action="put_clinician_profile",
            outcome="ok",
            detail={"user": name, "fields": sorted(changes), "version": profile.version},
            now=ctx.clock(),
        )
        return profile
