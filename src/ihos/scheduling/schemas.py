"""Shapes for the slot pool: the outpatient office's configuration, generation, the patient's browsing
and the staff's records."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any, Literal

from pydantic import Field

from ihos.kit.schema import Payload, Schema

Period = Literal["morning", "afternoon", "evening"]
Weekday = Field(ge=0, le=6, description="0 周一 … 6 周日")
FEE = Field(ge=0, le=10_000_000, description="分")
CODE = Field(min_length=2, max_length=20, pattern=r"^[a-z][a-z0-9_]+$")
NAME = Field(min_length=1, max_length=50)
QUOTAS: Any = Field(default_factory=dict, description="各渠道配额 {渠道编码: 号数}；余下的号进入公共号池")


# slot types (号类) ---------------------------------------------------------------------------------


class SlotTypeIn(Payload):
    code: str = Field(min_length=2, max_length=30, pattern=r"^[a-z][a-z0-9_]+$")
    name: str = NAME
    fee_fen: int = FEE
    item_code: str = Field(min_length=1, max_length=40)
    sort_order: int = Field(default=0, ge=0, le=10_000)


class SlotTypeUpdate(Payload):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    fee_fen: int | None = Field(default=None, ge=0, le=10_000_000)
    item_code: str | None = Field(default=None, min_length=1, max_length=40)
    sort_order: int | None = Field(default=None, ge=0, le=10_000)
    is_active: bool | None = None


class SlotTypeOut(Schema):
    code: str
    name: str
    fee_fen: int
    item_code: str
    sort_order: int
    is_active: bool


# registration kinds (号别) ---------------------------------------------------------------------------


class RegistrationKindIn(Payload):
    name: str = Field(min_length=1, max_length=100)
    slot_type_code: str = Field(min_length=1, max_length=30)
    department_id: uuid.UUID
    doctor_id: uuid.UUID | None = Field(
        default=None, description="留空为科室门诊、专病门诊等不指定医生的号别"
    )
    disease: str | None = Field(default=None, max_length=100, description="专病门诊的病种")
    fee_fen: int | None = Field(default=None, ge=0, le=10_000_000, description="留空按号类收费")
    is_online: bool = Field(default=False, description="互联网医院（线上）号别")


class RegistrationKindUpdate(Payload):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    slot_type_code: str | None = Field(default=None, min_length=1, max_length=30)
    department_id: uuid.UUID | None = None
    doctor_id: uuid.UUID | None = None
    disease: str | None = Field(default=None, max_length=100)
    fee_fen: int | None = Field(default=None, ge=0, le=10_000_000)
    is_online: bool | None = None
    is_active: bool | None = None


class RegistrationKindOut(Schema):
    id: uuid.UUID
    name: str
    slot_type_code: str
    campus_id: uuid.UUID
    department_id: uuid.UUID
    doctor_id: uuid.UUID | None
    disease: str | None
    fee_fen: int | None
    is_online: bool
    is_active: bool


# booking channels ------------------------------------------------------------------------------------


class BookingChannelIn(Payload):
    code: str = CODE
    name: str = NAME
    sort_order: int = Field(default=0, ge=0, le=10_000)


class BookingChannelUpdate(Payload):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    sort_order: int | None = Field(default=None, ge=0, le=10_000)
    is_active: bool | None = Field(default=None, description="false 即停用该渠道")


class BookingChannelOut(Schema):
    code: str
    name: str
    sort_order: int
    is_active: bool


# holidays ---------------------------------------------------------------------------------------------


class HolidayIn(Payload):
    name: str = NAME
    is_workday: bool = Field(default=False, description="true：调休上班日")
    works_as_weekday: int | None = Field(default=None, ge=0, le=6, description="调休上班日按周几排班")


class HolidayOut(Schema):
    day: date
    name: str
    is_workday: bool
    works_as_weekday: int | None


class HolidaySet(HolidayOut):
    open_sessions: int = Field(description="该日已生成且未停诊的出诊数：放假日须另行停诊")


# schedule templates (排班计划) -------------------------------------------------------------------------


class TemplateIn(Payload):
    registration_kind_id: uuid.UUID
    weekday: int = Weekday
    period: Period
    starts: time
    ends: time
    average_minutes: int = Field(ge=1, le=240)
    capacity: int = Field(ge=1, le=500)
    room: str | None = Field(default=None, max_length=50)
    quotas: dict[str, int] = QUOTAS
    valid_from: date
    valid_until: date | None = None


class TemplateUpdate(Payload):
    weekday: int | None = Field(default=None, ge=0, le=6)
    period: Period | None = None
    starts: time | None = None
    ends: time | None = None
    average_minutes: int | None = Field(default=None, ge=1, le=240)
    capacity: int | None = Field(default=None, ge=1, le=500)
    room: str | None = Field(default=None, max_length=50)
    quotas: dict[str, int] | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    is_active: bool | None = None


class TemplateOut(Schema):
    id: uuid.UUID
    registration_kind_id: uuid.UUID
    weekday: int
    period: str
    starts: time
    ends: time
    average_minutes: int
    capacity: int
    room: str | None
    quotas: dict[str, int]
    valid_from: date
    valid_until: date | None
    is_active: bool


# rules ----------------------------------------------------------------------------------------------


class BookingRuleOut(Schema):
    key: str
    label: str
    value: int
    default: int
    minimum: int
    maximum: int
    unit: str
    description: str
    is_overridden: bool = Field(default=False, description="科室规则：是否为本科室单独设置")


class BookingRuleValue(Payload):
    value: int


class DepartmentRuleValue(Payload):
    value: int | None = Field(description="null 即恢复为全院设置")


# sessions: generation, by hand, cancelling ----------------------------------------------------------


class GenerateIn(Payload):
    date_from: date
    date_to: date
    template_ids: list[uuid.UUID] | None = Field(default=None, max_length=500)
    preview: bool = Field(default=True, description="true 只预览将生成的出诊，不写入")


class SessionPlanOut(Schema):
    id: uuid.UUID | None = Field(description="预览时为空")
    template_id: uuid.UUID | None
    registration_kind_id: uuid.UUID
    kind_name: str
    department_id: uuid.UUID
    department_name: str
    doctor_id: uuid.UUID | None
    doctor_name: str | None
    session_date: date
    period: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    is_online: bool
    room: str | None
    release_at: datetime
    pool_at: datetime


class GenerateOut(Schema):
    preview: bool
    sessions: list[SessionPlanOut]
    skipped_existing: int = Field(description="已存在而跳过的出诊（含并发生成的）")
    holidays: list[date] = Field(description="范围内不出诊的节假日")
    make_up_days: list[date] = Field(description="范围内的调休上班日")


class SessionIn(Payload):
    registration_kind_id: uuid.UUID
    session_date: date
    period: Period
    starts: time
    ends: time
    average_minutes: int = Field(ge=1, le=240)
    capacity: int = Field(ge=1, le=500)
    room: str | None = Field(default=None, max_length=50)
    quotas: dict[str, int] = QUOTAS


class SessionCancelIn(Payload):
    reason: str = Field(min_length=1, max_length=200)


class PlaceCounts(Schema):
    free: int = 0
    held: int = 0
    booked: int = 0
    cooling: int = 0
    blocked: int = 0


class ScheduledSessionOut(Schema):
    """A session as the staff see it, with its places by effective status."""

    id: uuid.UUID
    registration_kind_id: uuid.UUID
    kind_name: str
    campus_id: uuid.UUID
    department_id: uuid.UUID
    department_name: str
    doctor_id: uuid.UUID | None
    doctor_name: str | None
    session_date: date
    period: str
    starts_at: datetime
    ends_at: datetime
    room: str | None
    capacity: int
    fee_fen: int
    is_online: bool
    state: str
    release_at: datetime
    pool_at: datetime
    is_generated: bool
    places: PlaceCounts


# staff records ----------------------------------------------------------------------------------------


class BookingRecordOut(Schema):
    """A booking or registration from any channel; the patient masked."""

    id: uuid.UUID
    booking_number: str
    state: str
    channel: str
    visit_kind: str
    seq: int
    fee_fen: int
    is_same_day: bool = Field(description="当日挂号（就诊当天下的号）")
    session_id: uuid.UUID
    session_date: date
    period: str
    segment_starts_at: datetime | None
    kind_name: str
    is_online: bool
    department_id: uuid.UUID
    department_name: str
    doctor_id: uuid.UUID | None
    doctor_name: str | None
    patient_id: uuid.UUID
    patient_name: str
    patient_id_number: str
    patient_phone: str
    order_number: str | None
    created_at: datetime
    confirmed_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None


class PlaceOut(Schema):
    seq: int
    starts_at: datetime
    ends_at: datetime
    channel: str
    status: str = Field(description="实际状态：超时未付的锁号、冷却期已过的退号按 free 显示")
    booking_number: str | None
    booking_state: str | None
    patient_name: str | None


class SessionBoardOut(Schema):
    session: ScheduledSessionOut
    by_channel: dict[str, PlaceCounts]
    places: list[PlaceOut]


class OwnBookingOut(Schema):
    booking_number: str
    seq: int
    segment_starts_at: datetime | None
    state: str
    visit_kind: str
    channel: str
    patient_name: str


class OwnSessionOut(ScheduledSessionOut):
    bookings: list[OwnBookingOut]


# the patient's browsing -----------------------------------------------------------------------------


class ClinicDepartmentOut(Schema):
    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    parent_name: str | None
    location: str | None
    introduction: str | None


class ClinicCampusOut(Schema):
    id: uuid.UUID
    name: str
    address: str | None
    departments: list[ClinicDepartmentOut]


class KindBrief(Schema):
    id: uuid.UUID
    name: str
    slot_type_name: str
    fee_fen: int
    is_online: bool
    disease: str | None


class DoctorCardOut(Schema):
    """A doctor as the public sees them (PT-22): no contact data, no sign-in data."""

    id: uuid.UUID
    name: str
    professional_title: str | None
    professional_title_name: str | None
    post_name: str | None
    speciality: str | None
    introduction: str | None
    photo_url: str | None
    departments: list[str]
    has_clinic: bool
    kinds: list[KindBrief]


class SearchOut(Schema):
    departments: list[ClinicDepartmentOut]
    doctors: list[DoctorCardOut]


SessionState = Literal["available", "full", "not_released", "stopped", "closed"]


class ClinicSessionOut(Schema):
    """A session in the patient's schedule: 可预约 / 约满 / 未放号 (with when) / 停诊 / 已截止."""

    id: uuid.UUID
    session_date: date
    period: str
    starts_at: datetime
    ends_at: datetime
    kind: KindBrief
    department_id: uuid.UUID
    department_name: str
    doctor_id: uuid.UUID | None
    doctor_name: str | None
    professional_title_name: str | None
    room: str | None
    state: SessionState
    opens_at: datetime | None = Field(description="未放号时：放号时间")
    available: int


class WeeklyClinicOut(Schema):
    weekday: int
    period: str
    kind_name: str


class ScheduleOut(Schema):
    sessions: list[ClinicSessionOut]
    weekly: list[WeeklyClinicOut] = Field(description="长期排班（每周出诊时间）")


class TimeSegmentOut(Schema):
    starts_at: datetime = Field(description="预约时作为 segment_starts_at 提交")
    ends_at: datetime
    available: int


class ClinicSessionDetailOut(ClinicSessionOut):
    segments: list[TimeSegmentOut]
