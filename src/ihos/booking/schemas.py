"""Shapes for bookings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from ihos.billing.schemas import OrderOut, PrepayOut
from ihos.kit.schema import Payload, Schema


class HoldIn(Payload):
    clinic_session_id: uuid.UUID
    patient_id: uuid.UUID
    segment_starts_at: AwareDatetime | None = Field(
        default=None, description="选择的时段开始时间；留空为任一时段"
    )
    visit_kind: Literal["first", "return"] = "first"


class BookingOut(Schema):
    id: uuid.UUID
    booking_number: str
    clinic_session_id: uuid.UUID = Field(validation_alias="session_id")
    patient_id: uuid.UUID
    channel: str
    visit_kind: str
    state: str
    seq: int
    fee_fen: int
    hold_expires_at: datetime | None
    order_number: str | None
    confirmed_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    created_at: datetime


# ---------------------------------------------------------------------------------------------
# records (PT-09), cancellation, payment


class NamedRef(Schema):
    id: uuid.UUID
    name: str


class DoctorRef(Schema):
    id: uuid.UUID
    name: str
    professional_title: str | None


class KindRef(Schema):
    id: uuid.UUID
    name: str
    slot_type_code: str
    disease: str | None


class SessionBrief(Schema):
    id: uuid.UUID
    session_date: date
    period: str
    period_label: str
    starts_at: datetime
    ends_at: datetime
    room: str | None
    state: str
    campus_name: str


class OrderBrief(Schema):
    order_number: str
    state: str
    payable_fen: int
    paid_fen: int
    refunded_fen: int
    channel: str | None
    paid_at: datetime | None


class RefundBrief(Schema):
    refund_number: str
    amount_fen: int
    state: str
    created_at: datetime
    succeeded_at: datetime | None


class CancellationTermsOut(Schema):
    deadline: datetime = Field(description="此前取消可退挂号费")
    is_late: bool = Field(description="现在取消是否已过截止时间（不退费并记录一次逾期退号）")
    refund_fen: int = Field(description="取消后原路退回的金额")
    counter_refund_fen: int = Field(description="窗口缴费的预约：取消后到窗口退还的金额")
    message: str = Field(description="给患者看的说明")


class BookingView(Schema):
    id: uuid.UUID
    booking_number: str
    state: str = Field(description="held, confirmed, arrived, completed, cancelled, expired, no_show")
    state_label: str
    channel: str
    visit_kind: str
    seq: int
    fee_fen: int
    segment_starts_at: datetime
    segment_ends_at: datetime
    session: SessionBrief
    registration_kind: KindRef
    department: NamedRef
    doctor: DoctorRef | None
    patient_id: uuid.UUID
    patient_name: str = Field(description="已脱敏")
    order: OrderBrief | None
    his_registration_number: str | None
    counter_payment: str | None
    hold_expires_at: datetime | None
    confirmed_at: datetime | None
    arrived_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    created_at: datetime


class BookingDetail(BookingView):
    refunds: list[RefundBrief]
    cancellation: CancellationTermsOut | None = Field(description="现在取消的后果；不能取消时为空")


class CancelIn(Payload):
    accept_late: bool = Field(
        default=False, description="已过退号截止时间时，须确认“不退费并记录一次逾期退号”后再取消"
    )


class StaffReasonIn(Payload):
    reason: str = Field(min_length=2, max_length=200)


class CancellationOut(Schema):
    booking: BookingDetail
    is_late: bool
    refund: RefundBrief | None
    counter_refund_fen: int
    message: str


class BookingPayOut(Schema):
    order: OrderOut
    prepay: PrepayOut


# ---------------------------------------------------------------------------------------------
# sessions and places


class SessionPlacesOut(Schema):
    id: uuid.UUID
    session_date: date
    period: str
    period_label: str
    starts_at: datetime
    ends_at: datetime
    release_at: datetime
    is_released: bool
    room: str | None
    campus_name: str
    registration_kind: KindRef
    department: NamedRef
    doctor: DoctorRef | None
    fee_fen: int
    available: int = Field(description="此渠道现在可预约的号源数")


class SegmentOut(Schema):
    starts_at: datetime
    ends_at: datetime
    available: int


class SessionSegmentsOut(Schema):
    session: SessionPlacesOut
    segments: list[SegmentOut]


# ---------------------------------------------------------------------------------------------
# blacklist, suspensions, notices, links


class BanOut(Schema):
    id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    is_running: bool
    events: int
    lifted_at: datetime | None
    lifted_by: uuid.UUID | None
    lift_note: str | None


class LiftIn(Payload):
    note: str = Field(min_length=2, max_length=300)


class SuspensionIn(Payload):
    kind: Literal["temporary", "long_term"]
    clinic_session_id: uuid.UUID | None = Field(default=None, description="临时停诊：场次")
    doctor_id: uuid.UUID | None = Field(default=None, description="长期停诊：医生（或号别，二选一）")
    registration_kind_id: uuid.UUID | None = None
    date_from: date | None = None
    date_to: date | None = None
    reason: str = Field(min_length=2, max_length=200)


class SuspensionOut(Schema):
    id: uuid.UUID
    kind: str
    doctor_id: uuid.UUID | None
    registration_kind_id: uuid.UUID | None
    session_id: uuid.UUID | None
    date_from: date
    date_to: date
    reason: str
    sessions_affected: int
    bookings_cancelled: int
    created_at: datetime


class NoticeOut(Schema):
    id: uuid.UUID
    kind: str
    title: str
    body: str
    published_at: datetime
    expires_at: datetime | None


class SuspensionApplied(Schema):
    suspension: SuspensionOut
    sessions: int = Field(description="本次停诊的场次数")
    bookings: int = Field(description="本次取消并通知的预约数")
    notice: NoticeOut


class LinkIn(Payload):
    patient_id: uuid.UUID
    registration_kind_id: uuid.UUID
    valid_days: int = Field(default=7, ge=1, le=30)


class LinkOut(Schema):
    token: str
    path: str = Field(description="患者端打开的页面")
    expires_at: datetime
    registration_kind_name: str
    patient_name: str


class OpenedLinkOut(Schema):
    registration_kind: KindRef
    department: NamedRef
    doctor: DoctorRef | None = Field(description="开具链接的医生")
    patient_id: uuid.UUID
    patient_name: str
    expires_at: datetime
    sessions: list[SessionPlacesOut]


# ---------------------------------------------------------------------------------------------
# other systems (SL-11)


class PatientIdentity(Payload):
    id_number: str = Field(min_length=15, max_length=20)
    name: str = Field(min_length=1, max_length=50)
    phone: str | None = Field(default=None, max_length=20, description="身份证号尚未登记为就诊人时必填")


class CounterHoldIn(Payload):
    clinic_session_id: uuid.UUID
    patient: PatientIdentity
    channel: Literal["window", "kiosk", "his"] | None = Field(
        default=None, description="留空为接入系统类型的默认渠道（HIS：window；自助机：kiosk）"
    )
    segment_starts_at: AwareDatetime | None = None
    visit_kind: Literal["first", "return"] = "first"


class CounterConfirmIn(Payload):
    payment_method: Literal["cash", "bank_card", "wechat", "alipay", "unionpay", "insurance", "other"]
    his_registration_number: str | None = Field(default=None, max_length=64)


class CounterCancelIn(Payload):
    accept_late: bool = False
    note: str | None = Field(default=None, max_length=200)


class PatientQuery(Payload):
    id_number: str = Field(min_length=15, max_length=20)
    state: Literal["held", "confirmed", "arrived", "completed", "cancelled", "expired", "no_show"] | None = (
        None
    )
