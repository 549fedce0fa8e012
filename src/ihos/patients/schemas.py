"""Shapes for family patients, real-name verification, addresses and the patient back office.

Every outgoing ID number, phone and patient name is masked; the unmask endpoints return the full
values and are audited.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from ihos.kit.schema import Payload, Schema

NAME = Field(min_length=1, max_length=50)
ID_NUMBER = Field(min_length=1, max_length=20)
PHONE = Field(min_length=11, max_length=20)


class PatientIn(Payload):
    name: str = NAME
    id_number: str = ID_NUMBER
    phone: str = PHONE
    relation: str = Field(
        min_length=1, max_length=20, description="字典 relation：self、spouse、child、parent…"
    )
    health_card_number: str | None = Field(default=None, max_length=64)
    guardian_consent: bool = Field(default=False, description="未满14周岁须为 true：监护人已阅读并同意")
    sms_code: str | None = Field(
        default=None, max_length=8, description="就诊人已在医院登记时，发到其登记手机号的验证码"
    )


class PatientUpdate(Payload):
    phone: str | None = Field(default=None, min_length=11, max_length=20)
    relation: str | None = Field(default=None, max_length=20)
    health_card_number: str | None = Field(default=None, max_length=64)


class FamilyPatientOut(Schema):
    id: uuid.UUID
    name: str = Field(description="脱敏")
    id_number: str = Field(description="脱敏")
    phone: str = Field(description="脱敏")
    sex: str
    birth_date: date
    age: int
    relation: str
    is_default: bool
    health_card_number: str | None
    identity_status: str


class PatientUnmasked(Schema):
    id: uuid.UUID
    name: str
    id_number: str
    phone: str


class Unmasking(Payload):
    reason: str = Field(min_length=2, max_length=200, description="查看完整信息的理由（记入审计日志）")


class RealNameIn(Payload):
    name: str = NAME
    id_number: str = ID_NUMBER
    phone: str | None = Field(
        default=None, min_length=11, max_length=20, description="未绑定手机号的账户须填写"
    )
    sms_code: str | None = Field(
        default=None, max_length=8, description="本人已被其他账户登记为就诊人时，发到其登记手机号的验证码"
    )


class IdentityReviewOut(Schema):
    id: uuid.UUID
    account_id: uuid.UUID
    name: str = Field(description="脱敏；审核详情中为完整信息（记录审计）")
    id_number: str = Field(description="脱敏；审核详情中为完整信息（记录审计）")
    state: str
    reason: str | None
    created_at: datetime
    reviewed_at: datetime | None
    document_urls: list[str] = Field(default_factory=list)


class RealNameOut(Schema):
    status: str = Field(description="unverified、pending_review、verified、rejected")
    review: IdentityReviewOut | None


class Rejection(Payload):
    reason: str = Field(min_length=2, max_length=500)


class AddressIn(Payload):
    recipient: str = NAME
    phone: str = PHONE
    province: str = Field(min_length=1, max_length=30)
    city: str = Field(min_length=1, max_length=30)
    district: str = Field(min_length=1, max_length=30)
    detail: str = Field(min_length=1, max_length=200)
    is_default: bool = False


class AddressUpdate(Payload):
    recipient: str | None = Field(default=None, min_length=1, max_length=50)
    phone: str | None = Field(default=None, min_length=11, max_length=20)
    province: str | None = Field(default=None, min_length=1, max_length=30)
    city: str | None = Field(default=None, min_length=1, max_length=30)
    district: str | None = Field(default=None, min_length=1, max_length=30)
    detail: str | None = Field(default=None, min_length=1, max_length=200)
    is_default: bool | None = None


class AddressOut(Schema):
    id: uuid.UUID
    recipient: str = Field(description="脱敏")
    phone: str = Field(description="脱敏")
    province: str
    city: str
    district: str
    detail: str
    is_default: bool


class AccountSummary(Schema):
    id: uuid.UUID
    username: str | None
    phone: str | None = Field(description="脱敏")
    real_name_status: str
    is_active: bool
    is_locked: bool
    created_at: datetime
    last_sign_in_at: datetime | None


class AccountDetail(AccountSummary):
    patients: list[FamilyPatientOut]


class PatientSummary(Schema):
    id: uuid.UUID
    name: str = Field(description="脱敏")
    id_number: str = Field(description="脱敏")
    phone: str = Field(description="脱敏")
    sex: str
    birth_date: date
    identity_status: str
    created_at: datetime


class HoldingAccount(Schema):
    account: AccountSummary
    relation: str


class PatientDetail(PatientSummary):
    health_card_number: str | None
    accounts: list[HoldingAccount]
