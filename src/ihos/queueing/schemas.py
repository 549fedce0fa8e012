"""API shapes of the smart queue. Names are always masked (张*三); priority is a level, never a reason."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal, Self

from pydantic import Field, model_validator

from ihos.kit.schema import Payload, Schema
from ihos.queueing.rules import QueueRuleOverrides

QueueKind = Literal["room", "hall", "exam", "lab"]
EntryState = Literal["waiting", "called", "in_visit", "done", "missed", "left"]


class QueueOut(Schema):
    id: uuid.UUID
    kind: str
    campus_id: uuid.UUID
    department_id: uuid.UUID | None
    code: str
    name: str
    place: str
    is_active: bool
    last_seq: int


class QueueCountsOut(Schema):
    queue: QueueOut
    waiting: int = 0
    called: int = 0
    in_visit: int = 0
    done: int = 0
    missed: int = 0
    left: int = 0
    my_session_ids: list[uuid.UUID] = Field(
        default=[],
        description="我今日在此队列出诊的场次（仅“我的队列”）：叫下一位只叫这些场次及未指定医生的号",
    )
    other_doctors_session_ids: list[uuid.UUID] = Field(
        default=[], description="今日在此队列出诊的其他医生的场次（仅“我的队列”）：叫下一位不叫其患者"
    )


class QueueIn(Payload):
    kind: QueueKind
    department_id: uuid.UUID
    code: str = Field(min_length=1, max_length=50, description="诊室号，或 HIS 的检查/检验站点代码")
    name: str = Field(min_length=1, max_length=50, description="屏幕上显示的名称")
    place: str | None = Field(default=None, max_length=30, description="叫号时播报的位置，默认同名称")


class QueueChangeIn(Payload):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    place: str | None = Field(default=None, min_length=1, max_length=30)
    is_active: bool | None = None


class QueueRulesOut(Schema):
    """The rules in force (``effective``) and the queue's own overrides of them."""

    queue_id: uuid.UUID
    effective: dict[str, int | str | bool]
    overrides: QueueRuleOverrides


class QueueEntryOut(Schema):
    """A patient in a queue, as screens and desks show them."""

    id: uuid.UUID
    queue_id: uuid.UUID
    queue_date: date
    number: int
    name: str
    state: str
    labels: list[str]
    sort_key: int
    checked_in_at: datetime
    called_at: datetime | None
    called_to: str | None
    call_count: int
    miss_count: int
    visit_started_at: datetime | None
    finished_at: datetime | None
    session_id: uuid.UUID | None = Field(
        default=None, description="挂号的出诊场次（检查检验为空）：医生叫号台据此标出本人患者"
    )


class StaffEntryOut(QueueEntryOut):
    """What a desk sees besides: the records behind the entry, the channel, the priority level."""

    patient_id: uuid.UUID
    booking_id: uuid.UUID | None
    channel: str
    priority_level: int
    awaiting_return: bool
    end_reason: str | None
    position: int | None = Field(description="候诊中的第几位（从 1 起）；不在候诊中为空")


class CallIn(Payload):
    place: str | None = Field(
        default=None, max_length=30, description="到哪里就诊（分诊大厅叫号时填医生的诊室）"
    )


class CallOut(Schema):
    entry: StaffEntryOut
    announcement: str


class FinishIn(Payload):
    awaiting_return: bool = Field(default=False, description="检查后须回来复诊")


class TransferIn(Payload):
    queue_id: uuid.UUID
    placement: Literal["keep", "next"] = Field(default="keep", description="keep 按原号序；next 下一位就诊")


class SystemCheckInIn(Payload):
    """A kiosk or another system checks a patient in: by booking, by ID card or hospital card, or by the
    check-in code."""

    booking_id: uuid.UUID | None = None
    id_number: str | None = Field(default=None, max_length=20)
    card_number: str | None = Field(default=None, max_length=64)
    booking_code: str | None = Field(default=None, max_length=80)
    department_id: uuid.UUID | None = Field(
        default=None, description="分诊台所在科室：其他科室的预约将被拒绝"
    )
    queue_id: uuid.UUID | None = Field(default=None, description="检查/检验站点的队列")

    @model_validator(mode="after")
    def one_way_in(self) -> Self:
        if not (self.booking_id or self.id_number or self.card_number or self.booking_code):
            raise ValueError("请提供预约、身份证号、就诊卡号或签到码之一")
        return self


class DeskCheckInIn(SystemCheckInIn):
    """A nurse checks a patient in: the kiosk's ways, or the booking number the patient tells (the nurse
    sees the patient; a kiosk, which does not, takes the signed check-in code instead)."""

    booking_number: str | None = Field(
        default=None, max_length=24, description="预约号：患者报出、护士核对本人后录入"
    )

    @model_validator(mode="after")
    def one_way_in(self) -> Self:
        if not (
            self.booking_id or self.id_number or self.card_number or self.booking_code or self.booking_number
        ):
            raise ValueError("请提供预约、预约号、身份证号、就诊卡号或签到码之一")
        return self


class CheckInOut(Schema):
    entry: QueueEntryOut
    queue: QueueOut
    position: int | None
    estimated_wait_minutes: int | None


class PhoneCheckInIn(Payload):
    booking_id: uuid.UUID


class CheckinCodeOut(Schema):
    code: str = Field(description="签到二维码的内容，自助机扫码签到")
    image: str = Field(description="签到二维码图片（PNG data URI），直接用于 image 组件")


class ExamOrderOut(Schema):
    id: uuid.UUID
    kind: str
    station_code: str
    station_name: str
    item_name: str
    ordered_at: datetime
    state: str


class MyQueueItemOut(Schema):
    """One of my places in a queue (or a station waiting for me to check in)."""

    entry: QueueEntryOut
    queue: QueueOut
    position: int | None = Field(description="候诊中的第几位（从 1 起）")
    patients_ahead: int | None
    estimated_wait_minutes: int | None
    orders: list[ExamOrderOut] = Field(default_factory=list)


class MyQueuesOut(Schema):
    items: list[MyQueueItemOut]
    pending_orders: list[ExamOrderOut] = Field(description="已开单、尚未到检查/检验处签到的申请")


class PatientQueryIn(Payload):
    id_number: str = Field(max_length=20)


class ScreenIn(Payload):
    name: str = Field(min_length=1, max_length=50)
    queue_id: uuid.UUID | None = Field(default=None, description="诊室门口屏：一个队列")
    department_id: uuid.UUID | None = Field(default=None, description="候诊大厅屏：科室的全部队列")

    @model_validator(mode="after")
    def one_binding(self) -> ScreenIn:
        if (self.queue_id is None) == (self.department_id is None):
            raise ValueError("请在队列与科室中选择一个")
        return self


class ScreenOut(Schema):
    id: uuid.UUID
    name: str
    campus_id: uuid.UUID
    queue_id: uuid.UUID | None
    department_id: uuid.UUID | None
    is_active: bool
    last_seen_at: datetime | None
    created_at: datetime


class IssuedScreenOut(ScreenOut):
    token: str = Field(description="只显示这一次：在电视浏览器中打开叫号屏地址时使用")


class QueueBriefOut(Schema):
    id: uuid.UUID
    kind: str
    name: str
    place: str
    department_id: uuid.UUID | None


class QueueSnapshotOut(Schema):
    """A queue as it is: apply the events after ``seq`` to follow it."""

    queue: QueueBriefOut
    seq: int
    entries: list[QueueEntryOut]
    average_minutes: int | None


class ScreenSnapshotOut(Schema):
    """What a screen shows now; then it follows the events on the WebSocket."""

    screen: ScreenOut
    queues: list[QueueSnapshotOut]


class QueueRuleOut(Schema):
    key: str
    label: str
    value: int
    default: int
    minimum: int
    maximum: int
    unit: str
    description: str
    is_overridden: bool


class RuleIn(Payload):
    value: int | None = Field(description="科室规则填空值恢复为全院设置")
