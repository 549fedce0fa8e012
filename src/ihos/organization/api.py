"""Organisation: hospitals, campuses, department trees, staff, roles, and staff's own profile."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile

from ihos.auth.caller import Caller
from ihos.auth.deps import StaffCaller, requires
from ihos.auth.permissions import BUILTIN_ROLES, BUSINESS_PERMISSIONS, PERMISSION_NAMES, Permission
from ihos.files.service import signed_link
from ihos.kit.http import DbSession
from ihos.kit.schema import Page
from ihos.kit.time import now
from ihos.models.files import StoredFile
from ihos.models.organization import Role, Staff
from ihos.organization import repository, service
from ihos.organization.schemas import (
    CampusIn,
    CampusOut,
    CampusUpdate,
    DepartmentIn,
    DepartmentNode,
    DepartmentOut,
    DepartmentUpdate,
    HospitalIn,
    HospitalOut,
    OwnProfileUpdate,
    PermissionOut,
    RoleIn,
    RoleOut,
    RoleUpdate,
    StaffCreate,
    StaffCreated,
    StaffOut,
    StaffUpdate,
    TemporaryPassword,
)
from ihos.security.masking import mask_phone

router = APIRouter(prefix="/organisation", tags=["organisation"])

Reader = Annotated[Caller, Depends(requires(Permission.ORGANISATION_READ))]
Manager = Annotated[Caller, Depends(requires(Permission.ORGANISATION_MANAGE))]
StaffManager = Annotated[Caller, Depends(requires(Permission.STAFF_MANAGE))]
RoleManager = Annotated[Caller, Depends(requires(Permission.ROLE_MANAGE))]
SessionManager = Annotated[Caller, Depends(requires(Permission.SESSION_MANAGE))]
MAX_PHOTO_BYTES = 5 * 1024 * 1024


async def staff_out(session: DbSession, staff: Staff) -> StaffOut:
    photo = await session.get(StoredFile, staff.photo_file_id) if staff.photo_file_id else None
    return StaffOut(
        id=staff.id,
        hospital_id=staff.hospital_id,
        staff_number=staff.staff_number,
        name=staff.name,
        sex=staff.sex,
        phone=mask_phone(staff.phone) if staff.phone else None,
        username=staff.username,
        professional_title=staff.professional_title,
        post=staff.post,
        speciality=staff.speciality,
        introduction=staff.introduction,
        practice_since=staff.practice_since,
        rank=staff.rank,
        is_accepting_consultations=staff.is_accepting_consultations,
        is_active=staff.is_active,
        is_locked=staff.locked_until is not None and staff.locked_until > now(),
        has_second_factor=staff.totp_enrolled_at is not None,
        photo_url=signed_link(photo) if photo else None,
        roles=sorted(role.code for role in staff.roles),
        department_ids=[d.id for d in staff.departments],
        campus_ids=[c.id for c in staff.campuses],
        last_sign_in_at=staff.last_sign_in_at,
    )


def role_out(role: Role) -> RoleOut:
    builtin = BUILTIN_ROLES.get(role.code)
    return RoleOut(
        code=role.code,
        name=role.name,
        description=role.description,
        permissions=sorted(p.value for p in builtin.permissions) if builtin else list(role.permissions),
        is_campus_scoped=builtin.is_campus_scoped if builtin else role.is_campus_scoped,
        is_builtin=role.is_builtin,
        is_admin=bool(builtin and builtin.is_admin),
    )


# hospitals and campuses ----------------------------------------------------------------------


@router.get("/hospitals", response_model=list[HospitalOut], summary="医院列表")
async def list_hospitals(session: DbSession, caller: Reader) -> list[HospitalOut]:
    return [HospitalOut.model_validate(h) for h in await repository.hospitals(session)]


@router.post("/hospitals", status_code=201, response_model=HospitalOut, summary="新建医院")
async def create_hospital(body: HospitalIn, session: DbSession, caller: Manager) -> HospitalOut:
    hospital = await service.create_hospital(session, caller, **body.model_dump())
    return HospitalOut.model_validate(hospital)


@router.get("/campuses", response_model=list[CampusOut], summary="院区列表（按权限范围）")
async def list_campuses(session: DbSession, caller: Reader) -> list[CampusOut]:
    return [CampusOut.model_validate(c) for c in await repository.campuses_readable_by(session, caller)]


@router.post("/campuses", status_code=201, response_model=CampusOut, summary="新建院区")
async def create_campus(body: CampusIn, session: DbSession, caller: Manager) -> CampusOut:
    campus = await service.create_campus(session, caller, **body.model_dump())
    return CampusOut.model_validate(campus)


@router.patch("/campuses/{campus_id}", response_model=CampusOut, summary="修改院区")
async def update_campus(
    campus_id: uuid.UUID, body: CampusUpdate, session: DbSession, caller: Manager
) -> CampusOut:
    campus = await service.update_campus(session, caller, campus_id, **body.model_dump(exclude_unset=True))
    return CampusOut.model_validate(campus)


# departments ---------------------------------------------------------------------------------


def _node(tree_node: service.DepartmentTreeNode) -> DepartmentNode:
    node = DepartmentNode.model_validate(tree_node.department)
    node.children = [_node(child) for child in tree_node.children]
    return node


@router.get("/campuses/{campus_id}/departments", response_model=list[DepartmentNode], summary="院区科室树")
async def department_tree(campus_id: uuid.UUID, session: DbSession, caller: Reader) -> list[DepartmentNode]:
    return [_node(node) for node in await service.department_tree(session, caller, campus_id)]


@router.post("/departments", status_code=201, response_model=DepartmentOut, summary="新建科室")
async def create_department(body: DepartmentIn, session: DbSession, caller: Manager) -> DepartmentOut:
    department = await service.create_department(session, caller, **body.model_dump())
    return DepartmentOut.model_validate(department)


@router.patch("/departments/{department_id}", response_model=DepartmentOut, summary="修改科室（含调整上级）")
async def update_department(
    department_id: uuid.UUID, body: DepartmentUpdate, session: DbSession, caller: Manager
) -> DepartmentOut:
    changes = body.model_dump(exclude_unset=True)
    parent_id = changes.pop("parent_id", None)
    move_to_root = changes.pop("move_to_root", False)
    department = await service.update_department(
        session, caller, department_id, parent_id=parent_id, move_to_root=move_to_root, **changes
    )
    return DepartmentOut.model_validate(department)


# staff ---------------------------------------------------------------------------------------


@router.get("/staff", response_model=Page[StaffOut], summary="工作人员查询")
async def search_staff(
    session: DbSession,
    caller: Reader,
    q: Annotated[str | None, Query(max_length=50, description="姓名、工号或用户名")] = None,
    department_id: uuid.UUID | None = None,
    campus_id: uuid.UUID | None = None,
    role: Annotated[str | None, Query(max_length=40)] = None,
    is_active: bool | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[StaffOut]:
    rows, total = await repository.search_staff(
        session,
        caller,
        text=q,
        department_id=department_id,
        campus_id=campus_id,
        role=role,
        is_active=is_active,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return Page(
        items=[await staff_out(session, s) for s in rows], total=total, page=page, page_size=page_size
    )


@router.post("/staff", status_code=201, response_model=StaffCreated, summary="创建工作人员账号")
async def create_staff(body: StaffCreate, session: DbSession, caller: StaffManager) -> StaffCreated:
    created = await service.create_staff(session, caller, **body.model_dump())
    return StaffCreated(
        staff=await staff_out(session, created.staff), temporary_password=created.temporary_password
    )


@router.get("/staff/{staff_id}", response_model=StaffOut, summary="工作人员详情")
async def get_staff(staff_id: uuid.UUID, session: DbSession, caller: Reader) -> StaffOut:
    return await staff_out(session, await service.get_staff(session, caller, staff_id))


@router.patch("/staff/{staff_id}", response_model=StaffOut, summary="修改工作人员（资料、角色、科室、停用）")
async def update_staff(
    staff_id: uuid.UUID, body: StaffUpdate, session: DbSession, caller: StaffManager
) -> StaffOut:
    staff = await service.update_staff(session, caller, staff_id, **body.model_dump(exclude_unset=True))
    return await staff_out(session, staff)


@router.post("/staff/{staff_id}/password-reset", response_model=TemporaryPassword, summary="重置工作人员密码")
async def reset_staff_password(
    staff_id: uuid.UUID, session: DbSession, caller: StaffManager
) -> TemporaryPassword:
    return TemporaryPassword(temporary_password=await service.reset_staff_password(session, caller, staff_id))


@router.post("/staff/{staff_id}/unlock", response_model=StaffOut, summary="解除登录锁定")
async def unlock_staff(staff_id: uuid.UUID, session: DbSession, caller: StaffManager) -> StaffOut:
    return await staff_out(session, await service.unlock_staff(session, caller, staff_id))


@router.delete("/staff/{staff_id}/sessions", status_code=204, summary="强制下线")
async def revoke_staff_sessions(staff_id: uuid.UUID, session: DbSession, caller: SessionManager) -> None:
    await service.revoke_staff_sessions(session, caller, staff_id)


@router.put("/staff/{staff_id}/photo", response_model=StaffOut, summary="上传工作人员照片")
async def set_staff_photo(
    staff_id: uuid.UUID, session: DbSession, caller: StaffManager, photo: Annotated[UploadFile, File()]
) -> StaffOut:
    data = await photo.read(MAX_PHOTO_BYTES + 1)
    staff = await service.set_photo(session, caller, staff_id, data=data, filename=photo.filename)
    return await staff_out(session, staff)


# own profile (DR-03, PH-01) --------------------------------------------------------------------


@router.get("/me", response_model=StaffOut, summary="我的资料")
async def my_profile(session: DbSession, caller: StaffCaller) -> StaffOut:
    return await staff_out(session, await service.get_staff(session, caller, service.own_staff_id(caller)))


@router.patch("/me", response_model=StaffOut, summary="修改我的资料（擅长、简介、是否接诊）")
async def update_my_profile(body: OwnProfileUpdate, session: DbSession, caller: StaffCaller) -> StaffOut:
    staff = await service.update_own_profile(session, caller, **body.model_dump(exclude_unset=True))
    return await staff_out(session, staff)


@router.put("/me/photo", response_model=StaffOut, summary="上传我的照片")
async def set_my_photo(
    session: DbSession, caller: StaffCaller, photo: Annotated[UploadFile, File()]
) -> StaffOut:
    data = await photo.read(MAX_PHOTO_BYTES + 1)
    staff = await service.set_photo(
        session, caller, service.own_staff_id(caller), data=data, filename=photo.filename
    )
    return await staff_out(session, staff)


# roles ---------------------------------------------------------------------------------------


@router.get("/permissions", response_model=list[PermissionOut], summary="自定义角色可用的业务权限")
async def business_permissions(caller: Reader) -> list[PermissionOut]:
    return [
        PermissionOut(code=p.value, name=PERMISSION_NAMES.get(p, p.value))
        for p in sorted(BUSINESS_PERMISSIONS)
    ]


@router.get("/roles", response_model=list[RoleOut], summary="角色列表")
async def list_roles(session: DbSession, caller: Reader) -> list[RoleOut]:
    return [role_out(role) for role in await repository.roles(session)]


@router.post("/roles", status_code=201, response_model=RoleOut, summary="新建自定义角色（仅业务权限）")
async def create_role(body: RoleIn, session: DbSession, caller: RoleManager) -> RoleOut:
    return role_out(await service.create_role(session, caller, **body.model_dump()))


@router.patch("/roles/{code}", response_model=RoleOut, summary="修改自定义角色")
async def update_role(code: str, body: RoleUpdate, session: DbSession, caller: RoleManager) -> RoleOut:
    return role_out(await service.update_role(session, caller, code, **body.model_dump(exclude_unset=True)))


@router.delete("/roles/{code}", status_code=204, summary="删除自定义角色")
async def delete_role(code: str, session: DbSession, caller: RoleManager) -> None:
    await service.delete_role(session, caller, code)
