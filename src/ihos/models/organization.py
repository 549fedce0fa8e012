"""Organisation (AD-01, DR-02, DR-03, PH-01): hospital → campuses → departments (a tree per campus)
→ staff."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ihos.models.base import Base, IdMixin, TimestampMixin
from ihos.security.fields import EncryptedString


class Hospital(IdMixin, TimestampMixin, Base):
    """医院."""

    __tablename__ = "hospitals"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str | None] = mapped_column(String(50))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    campuses: Mapped[list[Campus]] = relationship(back_populates="hospital", lazy="raise")


class Campus(IdMixin, TimestampMixin, Base):
    """院区: one site of a hospital (一院多区)."""

    __tablename__ = "campuses"
    __table_args__ = (UniqueConstraint("hospital_id", "code"),)

    hospital_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hospitals.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    hospital: Mapped[Hospital] = relationship(back_populates="campuses", lazy="raise")


class Department(IdMixin, TimestampMixin, Base):
    """科室: a node of a campus's department tree."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("campus_id", "code"),)

    campus_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campuses.id"), index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("departments.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    # clinical (临床), medical technology (医技), pharmacy (药剂), administration (行政)
    kind: Mapped[str] = mapped_column(String(20), default="clinical")
    introduction: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(200))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Role(TimestampMixin, Base):
    """角色. Built-in roles take their permissions from code (``ihos.auth.permissions``); custom roles
    made in the back office keep theirs here and may hold business permissions only."""

    __tablename__ = "roles"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(String(200))
    permissions: Mapped[list[Any]] = mapped_column(default=list)
    is_campus_scoped: Mapped[bool] = mapped_column(Boolean, default=True)
    is_builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class Staff(IdMixin, TimestampMixin, Base):
    """医护及管理人员: a member of staff with a profile and a sign-in.

    Accounts exist only when an administrator creates them (``ihos createadmin`` for the three
    administrators, the security admin for everyone else).
    """

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("hospital_id", "staff_number"),)

    hospital_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hospitals.id"), index=True)
    staff_number: Mapped[str] = mapped_column(String(32))  # 工号
    name: Mapped[str] = mapped_column(String(50))
    sex: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(EncryptedString())
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    professional_title: Mapped[str | None] = mapped_column(
        String(40)
    )  # 职称, dictionary "professional_title"
    post: Mapped[str | None] = mapped_column(String(40))  # 职务, dictionary "post"
    speciality: Mapped[str | None] = mapped_column(String(500))  # 擅长
    introduction: Mapped[str | None] = mapped_column(Text)  # 简介
    photo_file_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stored_files.id"))
    # Year independent practice began: online visits need ≥ 3 years (互联网诊疗管理办法 第25条).
    practice_since: Mapped[date | None] = mapped_column(Date)
    rank: Mapped[int] = mapped_column(Integer, default=0)  # ordering within a title in the directory
    is_accepting_consultations: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    # sign-in
    username: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime | None] = mapped_column()
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    totp_secret: Mapped[str | None] = mapped_column(EncryptedString())
    totp_enrolled_at: Mapped[datetime | None] = mapped_column()
    last_totp_step: Mapped[int | None] = mapped_column(Integer)  # a TOTP code works once
    last_sign_in_at: Mapped[datetime | None] = mapped_column()

    departments: Mapped[list[Department]] = relationship(secondary="staff_departments", lazy="raise")
    campuses: Mapped[list[Campus]] = relationship(secondary="staff_campuses", lazy="raise")
    roles: Mapped[list[Role]] = relationship(secondary="staff_roles", lazy="raise")


class StaffDepartment(Base):
    __tablename__ = "staff_departments"

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), primary_key=True)


class StaffCampus(Base):
    __tablename__ = "staff_campuses"

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    campus_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campuses.id"), primary_key=True)


class StaffRole(Base):
    __tablename__ = "staff_roles"

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    role_code: Mapped[str] = mapped_column(ForeignKey("roles.code"), primary_key=True)
