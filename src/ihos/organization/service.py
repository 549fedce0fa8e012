"""Organisation rules: department trees stay trees within one campus; staff accounts are made by the
security admin with business roles only (administrators come from ``ihos createadmin``); every
change is audited."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth import sessions
from ihos.auth.caller import Caller
from ihos.auth.permissions import (
    ADMIN_ROLES,
    BUILTIN_ROLES,
    BUSINESS_PERMISSIONS,
    separation_of_duties_problem,
)
from ihos.auth.service import USERNAME, InvalidUsername
from ihos.backoffice import dictionaries
from ihos.db import insert_unique
from ihos.errors import Conflict, Forbidden, InvalidInput, NotFound
from ihos.files.service import store_file
from ihos.kit.phone import InvalidPhone, normalise_mobile
from ihos.models.files import FilePurpose
from ihos.models.organization import Campus, Department, Hospital, Role, Staff
from ihos.organization import repository
from ihos.security.fields import blind_index
from ihos.security.passwords import hash_password, temporary_password


class HospitalNotFound(NotFound):
    code = "hospital_not_found"
    default_message = "医院不存在"


class CampusNotFound(NotFound):
    code = "campus_not_found"
    default_message = "院区不存在"


class DepartmentNotFound(NotFound):
    code = "department_not_found"
    default_message = "科室不存在"


class StaffNotFound(NotFound):
    code = "staff_not_found"
    default_message = "工作人员不存在"


class RoleNotFound(NotFound):
    code = "role_not_found"
    default_message = "角色不存在"


class CodeTaken(Conflict):
    code = "code_taken"
    default_message = "编码已被使用"


class InvalidDepartmentParent(InvalidInput):
    code = "invalid_department_parent"
    default_message = "上级科室必须属于同一院区，且不能是本科室或其下级科室"


class SeparationOfDuties(Forbidden):
    code = "separation_of_duties"
    default_message = "违反三员分立：管理员账号只能由系统命令创建和管理"


class InvalidRoles(InvalidInput):
    code = "invalid_roles"
    default_message = "角色不存在"


class InvalidPermissions(InvalidInput):
    code = "invalid_permissions"
    default_message = "自定义角色只能包含业务权限"


class RoleInUse(Conflict):
    code = "role_in_use"
    default_message = "仍有工作人员担任此角色，不能删除"


class InvalidStaffPhone(InvalidInput):
    code = "invalid_phone"
    default_message = "请输入正确的11位手机号码"


async def _insert_or(session: AsyncSession, row: object, error: Conflict) -> None:
    """Insert ``row``, turning a unique-constraint violation into ``error`` (the constraint decides races)."""
    if not await insert_unique(session, row):
        raise error


# ---------------------------------------------------------------------------------------------
# hospitals and campuses


async def create_hospital(
    session: AsyncSession, caller: Caller, *, code: str, name: str, short_name: str | None
) -> Hospital:
    hospital = Hospital(code=code, name=name, short_name=short_name)
    await _insert_or(session, hospital, CodeTaken("医院编码已被使用"))
    await audit.record(
        session,
        caller,
        "hospital.create",
        target_kind="hospitals",
        target_id=hospital.id,
        details={"code": code, "name": name},
    )
    return hospital


async def create_campus(
    session: AsyncSession, caller: Caller, *, hospital_id: uuid.UUID, **fields: Any
) -> Campus:
    if await session.get(Hospital, hospital_id) is None:
        raise HospitalNotFound()
    campus = Campus(hospital_id=hospital_id, **fields)
    await _insert_or(session, campus, CodeTaken("院区编码已被使用"))
    await audit.record(
        session,
        caller,
        "campus.create",
        target_kind="campuses",
        target_id=campus.id,
        details={"code": campus.code, "name": campus.name},
    )
    return campus


async def update_campus(
    session: AsyncSession, caller: Caller, campus_id: uuid.UUID, **changes: Any
) -> Campus:
    campus = await session.get(Campus, campus_id)
    if campus is None:
        raise CampusNotFound()
    for field, value in changes.items():
        setattr(campus, field, value)
    await session.flush()
    await audit.record(
        session,
        caller,
        "campus.update",
        target_kind="campuses",
        target_id=campus.id,
        details={"fields": sorted(changes)},
    )
    return campus


# ---------------------------------------------------------------------------------------------
# departments


@dataclass
class DepartmentTreeNode:
    department: Department
    children: list[DepartmentTreeNode]


async def department_tree(
    session: AsyncSession, caller: Caller, campus_id: uuid.UUID
) -> list[DepartmentTreeNode]:
    if not caller.may_see_campus(campus_id) or await session.get(Campus, campus_id) is None:
        raise CampusNotFound()
    departments = await repository.departments_of_campus(session, campus_id)
    nodes = {d.id: DepartmentTreeNode(d, []) for d in departments}
    roots: list[DepartmentTreeNode] = []
    for department in departments:
        parent = nodes.get(department.parent_id) if department.parent_id else None
        (parent.children if parent else roots).append(nodes[department.id])
    return roots


async def _check_parent(session: AsyncSession, department: Department, parent_id: uuid.UUID) -> None:
    """The parent is in the same campus and is not the department itself or one of its descendants."""
    ancestor_id: uuid.UUID | None = parent_id
    while ancestor_id is not None:
        ancestor = await session.get(Department, ancestor_id)
        if ancestor is None:
            raise DepartmentNotFound("上级科室不存在")
        if ancestor.campus_id != department.campus_id or ancestor.id == department.id:
            raise InvalidDepartmentParent()
        ancestor_id = ancestor.parent_id


async def create_department(
    session: AsyncSession, caller: Caller, *, campus_id: uuid.UUID, parent_id: uuid.UUID | None, **fields: Any
) -> Department:
    if await session.get(Campus, campus_id) is None:
        raise CampusNotFound()
    department = Department(id=uuid.uuid4(), campus_id=campus_id, parent_id=parent_id, **fields)
    if parent_id is not None:
        await _check_parent(session, department, parent_id)
    await _insert_or(session, department, CodeTaken("科室编码在本院区已被使用"))
    await audit.record(
        session,
        caller,
        "department.create",
        target_kind="departments",
        target_id=department.id,
        details={"code": department.code, "name": department.name},
    )
    return department


async def update_department(
    session: AsyncSession,
    caller: Caller,
    department_id: uuid.UUID,
    *,
    parent_id: uuid.UUID | None,
    move_to_root: bool,
    **changes: Any,
) -> Department:
    department = await session.get(Department, department_id)
    if department is None or not caller.may_see_campus(department.campus_id):
        raise DepartmentNotFound()
    if parent_id is not None:
        await _check_parent(session, department, parent_id)
        department.parent_id = parent_id
        changes["parent_id"] = parent_id
    elif move_to_root:
        department.parent_id = None
        changes["parent_id"] = None
    for field, value in changes.items():
        setattr(department, field, value)
    await session.flush()
    await audit.record(
        session,
        caller,
        "department.update",
        target_kind="departments",
        target_id=department.id,
        details={"fields": sorted(changes)},
    )
    return department


# ---------------------------------------------------------------------------------------------
# staff


async def get_staff(session: AsyncSession, caller: Caller, staff_id: uuid.UUID) -> Staff:
    staff = await repository.staff_by_id(session, staff_id)
    if staff is None or staff.hospital_id != caller.hospital_id:
        raise StaffNotFound()
    is_self = staff.id == caller.id
    if (
        not is_self
        and caller.campus_ids is not None
        and not {c.id for c in staff.campuses} & caller.campus_ids
    ):
        raise StaffNotFound()
    return staff


async def _roles_for(session: AsyncSession, codes: Sequence[str]) -> list[Role]:
    wanted = set(codes)
    if wanted & ADMIN_ROLES:
        raise SeparationOfDuties()
    problem = separation_of_duties_problem(wanted)
    if problem:
        raise SeparationOfDuties(problem)
    found = list(await repository.roles_by_codes(session, sorted(wanted)))
    if len(found) != len(wanted):
        missing = wanted - {role.code for role in found}
        raise InvalidRoles(f"角色不存在：{'、'.join(sorted(missing))}")
    return found


async def _placement(
    session: AsyncSession,
    caller: Caller,
    department_ids: Sequence[uuid.UUID],
    campus_ids: Sequence[uuid.UUID],
) -> tuple[list[Department], list[Campus]]:
    """Departments and campuses for a member of staff; a department brings its campus along."""
    departments = list(await repository.departments_by_ids(session, list(set(department_ids))))
    if len(departments) != len(set(department_ids)):
        raise DepartmentNotFound()
    wanted_campuses = set(campus_ids) | {d.campus_id for d in departments}
    campuses = list(await repository.campuses_by_ids(session, list(wanted_campuses)))
    if len(campuses) != len(wanted_campuses) or any(c.hospital_id != caller.hospital_id for c in campuses):
        raise CampusNotFound()
    return departments, campuses


async def _check_profile_codes(session: AsyncSession, fields: dict[str, Any]) -> None:
    for field, dictionary in (("professional_title", "professional_title"), ("post", "post")):
        value = fields.get(field)
        if value is not None and not await dictionaries.has_entry(session, dictionary, value):
            raise InvalidInput(f"{'职称' if field == 'professional_title' else '职务'}不在字典中：{value}")


def _set_phone(staff: Staff, phone: str | None) -> None:
    if phone is None or phone == "":
        staff.phone = None
        staff.phone_index = None
        return
    try:
        normalised = normalise_mobile(phone)
    except InvalidPhone:
        raise InvalidStaffPhone() from None
    staff.phone = normalised
    staff.phone_index = blind_index(normalised, kind="phone")


@dataclass(frozen=True)
class NewStaff:
    staff: Staff
    temporary_password: str


async def create_staff(
    session: AsyncSession,
    caller: Caller,
    *,
    username: str,
    roles: Sequence[str],
    department_ids: Sequence[uuid.UUID],
    campus_ids: Sequence[uuid.UUID],
    phone: str | None = None,
    **profile: Any,
) -> NewStaff:
    """Create a staff account with a one-time password that must be changed at the first sign-in."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise InvalidUsername()
    if caller.hospital_id is None:
        raise HospitalNotFound()
    role_rows = await _roles_for(session, roles)
    departments, campuses = await _placement(session, caller, department_ids, campus_ids)
    await _check_profile_codes(session, profile)
    password = temporary_password()
    staff = Staff(
        hospital_id=caller.hospital_id,
        username=username,
        password_hash=hash_password(password),
        must_change_password=True,
        **{k: v for k, v in profile.items() if v is not None},
    )
    _set_phone(staff, phone)
    staff.roles = role_rows
    staff.departments = departments
    staff.campuses = campuses
    await _insert_or(session, staff, CodeTaken("用户名或工号已被使用"))
    await audit.record(
        session,
        caller,
        "staff.create",
        target_kind="staff",
        target_id=staff.id,
        details={"username": username, "staff_number": staff.staff_number, "roles": sorted(roles)},
    )
    return NewStaff(staff, password)


async def _manageable_staff(session: AsyncSession, caller: Caller, staff_id: uuid.UUID) -> Staff:
    staff = await get_staff(session, caller, staff_id)
    if {role.code for role in staff.roles} & ADMIN_ROLES:
        raise SeparationOfDuties("管理员账号只能由系统命令管理")
    return staff


async def update_staff(
    session: AsyncSession,
    caller: Caller,
    staff_id: uuid.UUID,
    *,
    roles: Sequence[str] | None = None,
    department_ids: Sequence[uuid.UUID] | None = None,
    campus_ids: Sequence[uuid.UUID] | None = None,
    **changes: Any,
) -> Staff:
    staff = await _manageable_staff(session, caller, staff_id)
    await _check_profile_codes(session, changes)
    if "phone" in changes:
        _set_phone(staff, changes.pop("phone"))
        changes["phone"] = "***"
    for field, value in changes.items():
        if field != "phone":
            setattr(staff, field, value)
    roles_changed = roles is not None and set(roles) != {role.code for role in staff.roles}
    if roles is not None:
        staff.roles = await _roles_for(session, roles)
    if department_ids is not None or campus_ids is not None:
        departments, campuses = await _placement(
            session,
            caller,
            department_ids if department_ids is not None else [d.id for d in staff.departments],
            campus_ids if campus_ids is not None else [c.id for c in staff.campuses],
        )
        staff.departments, staff.campuses = departments, campuses
    await session.flush()
    if changes.get("is_active") is False or roles_changed:
        # A deactivated account, or one whose permissions changed, signs in again.
        await sessions.revoke_all(session, staff_id=staff.id, reason="account_changed")
    await audit.record(
        session,
        caller,
        "staff.update",
        target_kind="staff",
        target_id=staff.id,
        details={
            "fields": sorted(
                set(changes)
                | {
                    k
                    for k, v in (("roles", roles), ("departments", department_ids), ("campuses", campus_ids))
                    if v is not None
                }
            )
        },
    )
    return staff


async def reset_staff_password(session: AsyncSession, caller: Caller, staff_id: uuid.UUID) -> str:
    staff = await _manageable_staff(session, caller, staff_id)
    password = temporary_password()
    staff.password_hash = hash_password(password)
    staff.must_change_password = True
    staff.failed_sign_ins = 0
    staff.locked_until = None
    await sessions.revoke_all(session, staff_id=staff.id, reason="password_reset")
    await audit.record(session, caller, "staff.password_reset", target_kind="staff", target_id=staff.id)
    return password


async def unlock_staff(session: AsyncSession, caller: Caller, staff_id: uuid.UUID) -> Staff:
    staff = await _manageable_staff(session, caller, staff_id)
    staff.failed_sign_ins = 0
    staff.locked_until = None
    await audit.record(session, caller, "staff.unlock", target_kind="staff", target_id=staff.id)
    return staff


async def revoke_staff_sessions(session: AsyncSession, caller: Caller, staff_id: uuid.UUID) -> int:
    staff = await get_staff(session, caller, staff_id)
    revoked = await sessions.revoke_all(session, staff_id=staff.id, reason="revoked_by_admin")
    await audit.record(
        session,
        caller,
        "staff.sessions_revoke",
        target_kind="staff",
        target_id=staff.id,
        details={"revoked": revoked},
    )
    return revoked


async def update_own_profile(session: AsyncSession, caller: Caller, **changes: Any) -> Staff:
    staff = await get_staff(session, caller, own_staff_id(caller))
    for field, value in changes.items():
        setattr(staff, field, value)
    await session.flush()
    await audit.record(
        session,
        caller,
        "staff.profile_update",
        target_kind="staff",
        target_id=staff.id,
        details={"fields": sorted(changes)},
    )
    return staff


def own_staff_id(caller: Caller) -> uuid.UUID:
    if caller.id is None:
        raise StaffNotFound()
    return caller.id


async def set_photo(
    session: AsyncSession, caller: Caller, staff_id: uuid.UUID, *, data: bytes, filename: str | None
) -> Staff:
    """A staff photo, set by the person themself or by the security admin."""
    staff = (
        await get_staff(session, caller, staff_id)
        if staff_id == caller.id
        else await _manageable_staff(session, caller, staff_id)
    )
    stored = await store_file(
        session,
        purpose=FilePurpose.STAFF_PHOTO,
        data=data,
        filename=filename,
        owner_kind="staff",
        owner_id=staff.id,
        uploaded_by_kind=caller.kind,
        uploaded_by_id=caller.subject_id,
    )
    staff.photo_file_id = stored.id
    await session.flush()
    await audit.record(
        session,
        caller,
        "staff.photo_update",
        target_kind="staff",
        target_id=staff.id,
        details={"file_id": str(stored.id)},
    )
    return staff


# ---------------------------------------------------------------------------------------------
# roles


def _check_custom_permissions(permissions: Sequence[str]) -> list[str]:
    wanted = set(permissions)
    if not wanted <= {p.value for p in BUSINESS_PERMISSIONS}:
        raise InvalidPermissions()
    return sorted(wanted)


async def create_role(
    session: AsyncSession,
    caller: Caller,
    *,
    code: str,
    name: str,
    description: str | None,
    permissions: Sequence[str],
    is_campus_scoped: bool,
) -> Role:
    if code in BUILTIN_ROLES:
        raise CodeTaken("角色编码已被使用")
    role = Role(
        code=code,
        name=name,
        description=description,
        permissions=_check_custom_permissions(permissions),
        is_campus_scoped=is_campus_scoped,
        is_builtin=False,
    )
    await _insert_or(session, role, CodeTaken("角色编码已被使用"))
    await audit.record(
        session,
        caller,
        "role.create",
        target_kind="roles",
        target_id=code,
        details={"permissions": role.permissions},
    )
    return role


async def _custom_role(session: AsyncSession, code: str) -> Role:
    role = await session.get(Role, code)
    if role is None:
        raise RoleNotFound()
    if role.is_builtin:
        raise Forbidden("内置角色不能修改")
    return role


async def update_role(session: AsyncSession, caller: Caller, code: str, **changes: Any) -> Role:
    role = await _custom_role(session, code)
    if changes.get("permissions") is not None:
        changes["permissions"] = _check_custom_permissions(changes["permissions"])
    for field, value in changes.items():
        setattr(role, field, value)
    await session.flush()
    await audit.record(
        session,
        caller,
        "role.update",
        target_kind="roles",
        target_id=code,
        details={"fields": sorted(changes)},
    )
    return role


async def delete_role(session: AsyncSession, caller: Caller, code: str) -> None:
    role = await _custom_role(session, code)
    if await repository.role_holders(session, code):
        raise RoleInUse()
    await session.delete(role)
    await session.flush()
    await audit.record(session, caller, "role.delete", target_kind="roles", target_id=code)


async def hospital_of(session: AsyncSession, caller: Caller) -> Hospital:
    hospital = await session.get(Hospital, caller.hospital_id) if caller.hospital_id else None
    if hospital is None:
        raise HospitalNotFound()
    return hospital


async def first_hospital(session: AsyncSession) -> Hospital | None:
    return await session.scalar(select(Hospital).order_by(Hospital.created_at).limit(1))


async def create_administrator(
    session: AsyncSession,
    caller: Caller,
    *,
    hospital_id: uuid.UUID,
    role: str,
    username: str,
    name: str,
    staff_number: str,
    password: str | None = None,
) -> NewStaff:
    """One of the three administrators (三员), made from the server's command line only.

    Each holds exactly one administrator role and no business role; the password must be changed
    and a TOTP authenticator enrolled at the first sign-in.
    """
    if role not in ADMIN_ROLES:
        raise InvalidRoles("只能创建系统管理员、安全管理员或审计管理员")
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise InvalidUsername()
    role_row = await session.get(Role, role)
    if role_row is None:
        raise InvalidRoles()
    password = password or temporary_password()
    staff = Staff(
        hospital_id=hospital_id,
        username=username,
        name=name,
        staff_number=staff_number,
        password_hash=hash_password(password),
        must_change_password=True,
    )
    staff.roles = [role_row]
    staff.departments = []
    staff.campuses = []
    await _insert_or(session, staff, CodeTaken("用户名或工号已被使用"))
    await audit.record(
        session,
        caller,
        "staff.create_admin",
        target_kind="staff",
        target_id=staff.id,
        details={"username": username, "role": role},
    )
    return NewStaff(staff, password)


async def reset_administrator(session: AsyncSession, caller: Caller, *, username: str) -> str:
    """Command-line recovery of an administrator: new one-time password, authenticator re-enrolled."""
    staff = await session.scalar(select(Staff).where(Staff.username == username.strip().lower()))
    if staff is None:
        raise StaffNotFound()
    password = temporary_password()
    staff.password_hash = hash_password(password)
    staff.must_change_password = True
    staff.failed_sign_ins = 0
    staff.locked_until = None
    staff.totp_secret = None
    staff.totp_enrolled_at = None
    staff.last_totp_step = None
    await sessions.revoke_all(session, staff_id=staff.id, reason="password_reset")
    await audit.record(session, caller, "staff.reset_admin", target_kind="staff", target_id=staff.id)
    return password
