"""Shapes for orders, payments, refunds and the finance desk. Amounts are integer fen."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from ihos.kit.schema import Payload, Schema

ChannelName = Literal["wechat", "alipay", "unionpay", "insurance"]


class ChannelOut(Schema):
    channel: str
    display_name: str
    is_enabled: bool
    sort_order: int


class OrderLineOut(Schema):
    item_code: str
    name: str
    quantity: int
    unit_price_fen: int
    amount_fen: int


class OrderOut(Schema):
    order_number: str
    business_kind: str
    business_reference: str | None
    description: str
    state: str
    total_fen: int
    discount_fen: int
    payable_fen: int
    insurance_fund_fen: int
    personal_account_fen: int
    self_pay_fen: int
    is_insured: bool
    paid_fen: int
    refunded_fen: int
    channel: str | None
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    closed_at: datetime | None = Field(description="超过支付时间关闭的时间")
    his_state: str
    his_receipt_number: str | None = Field(description="HIS 收费收据号（HIS 确认收费后）")
    his_written_at: datetime | None = Field(description="HIS 确认收费的时间")


class PatientOrderDetail(OrderOut):
    """The patient's view of one order: whom it is for and what it charges."""

    patient_name: str | None = Field(description="就诊人（脱敏）")
    lines: list[OrderLineOut]


class FinanceOrderOut(OrderOut):
    patient_name: str | None = Field(description="就诊人（脱敏）")


class PayIn(Payload):
    channel: ChannelName
    scene: Literal["mini_program", "jsapi", "h5", "native"] = "h5"
    wechat_openid: str | None = Field(
        default=None,
        max_length=128,
        description="对接系统用：付款人的微信 openid。患者无需传入：按登录账户填写，与之不符的被拒绝",
    )
    alipay_user_id: str | None = Field(
        default=None,
        max_length=128,
        description="对接系统用：付款人的支付宝用户标识。患者无需传入：按登录账户填写，与之不符的被拒绝",
    )
    insurance_authorisation: str | None = Field(
        default=None, max_length=256, description="医保支付：患者在医保电子凭证中授权后得到的 payAuthNo"
    )


class PrepayOut(Schema):
    channel: str
    params: dict[str, str] = Field(description="小程序调起支付的参数（wx.requestPayment / my.tradePay）")
    url: str | None = Field(description="H5 收银台地址")
    method: Literal["get", "post"] | None = Field(
        description="如何打开 url：get 为页面跳转，post 为以表单提交 fields（银联 H5 网关）；没有 url 时为空"
    )
    fields: dict[str, str] = Field(description="method 为 post 时提交的表单字段（已签名）；否则为空")
    insurance_fund_fen: int | None = None
    personal_account_fen: int | None = None
    self_pay_fen: int | None = None


class RefundIn(Payload):
    amount_fen: int | None = Field(default=None, gt=0, description="留空为全部可退金额")
    reason: str = Field(min_length=2, max_length=200)


class StaffRefundIn(Payload):
    amount_fen: int = Field(gt=0)
    reason: str = Field(min_length=2, max_length=200)


class RefundOut(Schema):
    id: uuid.UUID
    refund_number: str
    order_id: uuid.UUID
    amount_fen: int
    reason: str
    state: str
    is_automatic: bool
    requested_by_kind: str
    levels_required: int
    levels_approved: int
    created_at: datetime
    submitted_at: datetime | None
    succeeded_at: datetime | None
    last_error: str | None
    rejection_note: str | None = Field(description="驳回时审批人填写的说明")


class StaffRef(Schema):
    id: uuid.UUID
    name: str
    staff_number: str


class RequesterOut(Schema):
    kind: Literal["patient", "staff", "system"]
    id: uuid.UUID | None
    name: str = Field(description="工作人员姓名；患者为脱敏手机号；系统自动退款为“系统”")
    staff_number: str | None


class FinanceRefundOut(RefundOut):
    order_number: str
    channel: str = Field(description="原支付渠道（原路退回）")
    requested_by: RequesterOut


class Decision(Payload):
    note: str | None = Field(default=None, max_length=300)


class ClinicBillOut(Schema):
    id: uuid.UUID
    his_bill_id: str
    patient_id: uuid.UUID
    patient_name: str = Field(description="脱敏")
    department: str
    doctor: str
    lines: list[dict[str, Any]]
    total_fen: int
    state: str
    billed_at: datetime


class PaymentOut(Schema):
    channel: str
    transaction_id: str
    amount_fen: int
    paid_at: datetime
    disposition: str
    refunded_fen: int


class NotificationOut(Schema):
    channel: str
    notification_id: str | None
    received_at: datetime
    is_verified: bool
    rejection_reason: str | None
    kind: str | None
    outcome: str | None


class AttemptOut(Schema):
    channel: str
    scene: str
    created_at: datetime
    is_current: bool


class ApprovalOut(Schema):
    refund_id: uuid.UUID
    level: int
    approver_id: uuid.UUID
    approver: StaffRef
    decision: str
    note: str | None
    decided_at: datetime


class AnomalyOut(Schema):
    id: uuid.UUID
    kind: str
    kind_label: str
    order_id: uuid.UUID | None
    order_number: str | None = None
    refund_id: uuid.UUID | None
    details: dict[str, Any]
    state: str
    note: str | None
    created_at: datetime
    handled_at: datetime | None
    handled_by: StaffRef | None = Field(description="处理人")


class OrderDetail(FinanceOrderOut):
    lines: list[OrderLineOut]
    attempts: list[AttemptOut]
    payments: list[PaymentOut]
    notifications: list[NotificationOut]
    refunds: list[FinanceRefundOut]
    approvals: list[ApprovalOut]
    anomalies: list[AnomalyOut]


class RefundStatistic(Schema):
    channel: str
    state: str
    count: int
    amount_fen: int


class Handling(Payload):
    note: str = Field(min_length=2, max_length=2000)


class ChannelUpdate(Payload):
    is_enabled: bool
    display_name: str | None = Field(default=None, max_length=40)
    sort_order: int | None = Field(default=None, ge=0, le=100)


class ApprovalLevelIn(Payload):
    level: int = Field(ge=1, le=10)
    min_amount_fen: int = Field(ge=0)
    role_code: str = Field(max_length=40)


class ApprovalLevelOut(Schema):
    level: int
    min_amount_fen: int
    role_code: str
    role_name: str = Field(description="角色名称（财务主管…）")


class RefundAuthorityIn(Payload):
    may_request: bool = False
    may_approve: bool = False
    approval_limit_fen: int | None = Field(default=None, ge=0, description="留空为不限")
    may_execute: bool = False


class RefundAuthorityOut(Schema):
    staff_id: uuid.UUID
    staff_name: str
    staff_number: str
    may_request: bool
    may_approve: bool
    approval_limit_fen: int | None
    may_execute: bool


class SystemOrderLine(Payload):
    item_code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=1, le=10_000)
    unit_price_fen: int = Field(ge=0, le=100_000_000)


class SystemOrderIn(Payload):
    """An order made by another hospital system (a HIS window, a kiosk) for a patient it identifies."""

    patient_id_number: str = Field(min_length=15, max_length=20)
    business_kind: str = Field(min_length=1, max_length=30)
    business_reference: str | None = Field(default=None, max_length=64)
    description: str = Field(min_length=1, max_length=128)
    lines: list[SystemOrderLine] = Field(min_length=1, max_length=100)


class ClinicBillLineIn(Payload):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=1, le=10_000)
    unit_price_fen: int = Field(ge=0)
    amount_fen: int = Field(ge=0)


class ClinicBillIn(Payload):
    his_bill_id: str = Field(min_length=1, max_length=64)
    patient_id_number: str = Field(min_length=15, max_length=20)
    department: str = Field(min_length=1, max_length=100)
    doctor: str = Field(min_length=1, max_length=50)
    created_at: AwareDatetime
    lines: list[ClinicBillLineIn] = Field(min_length=1, max_length=200)
    total_fen: int = Field(ge=0)

    @model_validator(mode="after")
    def _adds_up(self) -> ClinicBillIn:
        # The patient is shown the total and charged for the lines: they must agree.
        for line in self.lines:
            if line.amount_fen != line.quantity * line.unit_price_fen:
                raise ValueError(f"line {line.code}: amount_fen must be quantity × unit_price_fen")
        if self.total_fen != sum(line.amount_fen for line in self.lines):
            raise ValueError("total_fen must be the sum of the lines' amount_fen")
        return self
