"""Request dependencies that resolve and check the caller.

``CurrentCaller`` is anyone (anonymous included); ``SignedIn`` anyone with a session, even one that
must change the password first; ``PatientCaller`` / ``StaffCaller`` refuse until the password has been
changed; ``requires(permission)`` checks a staff permission and audits a refusal.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ihos.audit import service as audit
from ihos.auth import repository, sessions
from ihos.auth.caller import Caller, anonymous
from ihos.auth.permissions import BUILTIN_ROLES, BUSINESS_PERMISSIONS, Permission
from ihos.errors import Forbidden, Unauthenticated
from ihos.kit.http import ClientAddress, DbSession
from ihos.models.organization import Staff
from ihos.security.masking import mask_phone

_bearer = HTTPBearer(auto_error=False, description="登录后获得的令牌")


class PasswordChangeRequired(Forbidden):
    code = "password_change_required"
    default_message = "请先修改密码"


class PatientsOnly(Forbidden):
    code = "patients_only"
    default_message = "此功能仅供患者使用"


class StaffOnly(Forbidden):
    code = "staff_only"
    default_message = "此功能仅供医院工作人员使用"


def staff_permissions(staff: Staff) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in staff.roles:
        builtin = BUILTIN_ROLES.get(role.code)
        if builtin is not None:
            granted |= builtin.permissions
        else:
            # Custom roles never carry administrator permissions, whatever the row says.
            granted |= {Permission(p) for p in role.permissions if p in BUSINESS_PERMISSIONS}
    return frozenset(granted)


def staff_campus_scope(staff: Staff) -> frozenset[uuid.UUID] | None:
    scoped = all(
        BUILTIN_ROLES[role.code].is_campus_scoped if role.code in BUILTIN_ROLES else role.is_campus_scoped
        for role in staff.roles
    )
    return frozenset(campus.id for campus in staff.campuses) if scoped and staff.roles else None


async def current_caller(
    session: DbSession,
    address: ClientAddress,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None:
        return anonymous(address)
    auth_session = await sessions.resolve(session, credentials.credentials)
    if auth_session.account_id is not None:
        if not auth_session.account_is_active:
            raise Unauthenticated()
        phone, username = auth_session.account_phone, auth_session.account_username
        return Caller(
            kind="patient",
            id=auth_session.account_id,
            session_id=auth_session.id,
            label=mask_phone(phone) if phone else (username or "患者"),
            client_address=address,
            must_change_password=bool(auth_session.account_must_change_password),
        )
    staff = (
        await repository.staff_with_access(session, auth_session.staff_id) if auth_session.staff_id else None
    )
    if staff is None or not staff.is_active:
        raise Unauthenticated()
    from ihos.auth.service import password_expired

    return Caller(
        kind="staff",
        id=staff.id,
        session_id=auth_session.id,
        label=f"{staff.name}({staff.staff_number})",
        roles=frozenset(role.code for role in staff.roles),
        permissions=staff_permissions(staff),
        campus_ids=staff_campus_scope(staff),
        hospital_id=staff.hospital_id,
        client_address=address,
        must_change_password=await password_expired(session, staff),
    )


CurrentCaller = Annotated[Caller, Depends(current_caller)]


async def signed_in(caller: CurrentCaller) -> Caller:
    if caller.kind not in ("patient", "staff"):
        raise Unauthenticated()
    return caller


SignedIn = Annotated[Caller, Depends(signed_in)]


async def patient_caller(caller: SignedIn) -> Caller:
    if not caller.is_patient:
        raise PatientsOnly()
    if caller.must_change_password:
        raise PasswordChangeRequired()
    return caller


async def staff_caller(caller: SignedIn) -> Caller:
    if not caller.is_staff:
        raise StaffOnly()
    if caller.must_change_password:
        raise PasswordChangeRequired()
    return caller


PatientCaller = Annotated[Caller, Depends(patient_caller)]
StaffCaller = Annotated[Caller, Depends(staff_caller)]


def requires(permission: Permission) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency: the caller is staff holding ``permission``; a refusal is audited."""

    async def check(caller: StaffCaller) -> Caller:
        if not caller.has(permission):
            raise Forbidden(
                record=audit.denied(caller, "access.denied", details={"permission": permission.value})
            )
        return caller

    return check
