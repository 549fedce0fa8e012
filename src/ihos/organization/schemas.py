"""Shapes for the organisation API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import Field

from ihos.kit.schema import Payload, Schema

CODE = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
NAME = Field(min_length=1, max_length=100)


class HospitalIn(Payload):
    code: str = CODE
    name: str = NAME
    short_name: str | None = Field(default=None, max_length=50)


class HospitalOut(Schema):
    id: uuid.UUID
    code: str
    name: str
    short_name: str | None
    is_active: bool


class CampusIn(Payload):
    hospital_id: uuid.UUID
    code: str = CODE
    name: str = NAME
    address: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    sort_order: int = Field(default=0, ge=0, le=10_000)


class CampusUpdate(Payload):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    address: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    sort_order: int | None = Field(default=None, ge=0, le=10_000)
    is_active: bool | None = None


class CampusOut(Schema):
    id: uuid.UUID
    hospital_id: uuid.UUID
    code: str
    name: str
    address: str | None
    phone: str | None
    sort_order: int
    is_active: bool


DepartmentKind = Literal["clinical", "medical_technology", "pharmacy", "nursing", "administration"]


class DepartmentIn(Payload):
    campus_id: uuid.UUID
    parent_id: uuid.UUID | None = None
    code: str = CODE
    name: str = NAME
    kind: DepartmentKind = "clinical"
    introduction: str | None = Field(default=None, max_length=4000)
    location: str | None = Field(default=None, max_length=200)
    sort_order: int = Field(default=0, ge=0, le=10_000)


class DepartmentUpdate(Payload):
    parent_id: uuid.UUID | None = None
    move_to_root: bool = False
    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: DepartmentKind | None = None
    introduction: str | None = Field(default=None, max_length=4000)
    location: str | None = Field(default=None, max_length=200)
    sort_order: int | None = Field(default=None, ge=0, le=10_000)
    is_active: bool | None = None


class DepartmentOut(Schema):
    id: uuid.UUID
    campus_id: uuid.UUID
    parent_id: uuid.UUID | None
    code: str
    name: str
    kind: str
    introduction: str | None
    location: str | None
    sort_order: int
    is_active: bool


class DepartmentNode(DepartmentOut):
    children: list[DepartmentNode] = Field(default_factory=list)


class StaffProfileFields(Payload):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    sex: Literal["male", "female"] | None = None
    phone: str | None = Field(default=None, max_length=20)
    professional_title: str | None = Field(default=None, max_length=40)
    post: str | None = Field(default=None, max_length=40)
    speciality: str | None = Field(default=None, max_length=500)
    introduction: str | None = Field(default=None, max_length=4000)
    practice_since: date | None = None
    rank: int | None = Field(default=None, ge=0, le=10_000)
    is_accepting_consultations: bool | None = None


class StaffCreate(StaffProfileFields):
    name: str = Field(min_length=1, max_length=50)
    staff_number: str = CODE
    username: str = Field(min_length=4, max_length=40)
    roles: list[str] = Field(min_length=1, max_length=10)
    department_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    campus_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)


class StaffUpdate(StaffProfileFields):
    roles: list[str] | None = Field(default=None, min_length=1, max_length=10)
    department_ids: list[uuid.UUID] | None = Field(default=None, max_length=20)
    campus_ids: list[uuid.UUID] | None = Field(default=None, max_length=20)
    is_active: bool | None = None


class OwnProfileUpdate(Payload):
    """What staff may change in their own profile (DR-03); title and post are set by the hospital."""

    speciality: str | None = Field(default=None, max_length=500)
    introduction: str | None = Field(default=None, max_length=4000)
    is_accepting_consultations: bool | None = None


class StaffOut(Schema):
    id: uuid.UUID
    hospital_id: uuid.UUID
    staff_number: str
    name: str
    sex: str | None
    phone: str | None = Field(description="脱敏")
    username: str
    professional_title: str | None
    post: str | None
    speciality: str | None
    introduction: str | None
    practice_since: date | None
    rank: int
    is_accepting_consultations: bool
    is_active: bool
    is_locked: bool
    has_second_factor: bool
    photo_url: str | None
    roles: list[str]
    department_ids: list[uuid.UUID]
    campus_ids: list[uuid.UUID]
    last_sign_in_at: datetime | None


class StaffCreated(Schema):
    staff: StaffOut
    temporary_password: str = Field(description="仅显示一次；首次登录须修改")


class TemporaryPassword(Schema):
    temporary_password: str


class RoleIn(Payload):
    code: str = Field(min_length=2, max_length=40, pattern=r"^[a-z][a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=200)
    permissions: list[str] = Field(max_length=50)
    is_campus_scoped: bool = True


class RoleUpdate(Payload):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=200)
    permissions: list[str] | None = Field(default=None, max_length=50)
    is_campus_scoped: bool | None = None


class PermissionOut(Schema):
    code: str
    name: str


class RoleOut(Schema):
    code: str
    name: str
    description: str | None
    permissions: list[str]
    is_campus_scoped: bool
    is_builtin: bool
    is_admin: bool
