"""Request and response shapes for sign-in, registration and passwords."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from ihos.kit.schema import Payload, Schema

PASSWORD = Field(min_length=1, max_length=128)
SMS_CODE = Field(min_length=4, max_length=8)
PHONE = Field(min_length=11, max_length=20)


class Consents(Payload):
    """The version of each document the user has just read and agreed to (unticked by default)."""

    user_agreement: str | None = Field(default=None, max_length=20)
    privacy_policy: str | None = Field(default=None, max_length=20)
    health_data: str | None = Field(default=None, max_length=20)

    def given(self) -> dict[str, str | None]:
        return self.model_dump()


class PolicyOut(Schema):
    document: str
    version: str
    title: str
    body: str


class SmsCodeRequest(Payload):
    phone: str = PHONE
    purpose: Literal["register", "sign_in", "reset_password", "bind_patient", "bind_phone"] = Field(
        description="bind_patient：添加已在医院登记的就诊人时，验证码发到其登记手机号（须登录）；"
        "bind_phone：为账户绑定手机号（须登录）"
    )


class SmsCodeSent(Schema):
    resend_after_seconds: int
    expires_in_seconds: int


class UsernameRegistration(Payload):
    username: str = Field(min_length=1, max_length=40)
    password: str = PASSWORD
    consents: Consents


class PhoneRegistration(Payload):
    phone: str = PHONE
    code: str = SMS_CODE
    password: str | None = Field(default=None, max_length=128, description="留空则仅用短信验证码登录")
    consents: Consents


class PasswordSignIn(Payload):
    login: str = Field(min_length=1, max_length=40, description="手机号或用户名")
    password: str = PASSWORD


class SmsSignIn(Payload):
    phone: str = PHONE
    code: str = SMS_CODE


class WeChatSignIn(Payload):
    code: str = Field(min_length=1, max_length=128, description="wx.login 得到的 code")
    consents: Consents | None = None


class AlipaySignIn(Payload):
    auth_code: str = Field(min_length=1, max_length=128, description="my.getAuthCode 得到的 authCode")
    consents: Consents | None = None


class PasswordReset(Payload):
    phone: str = PHONE
    code: str = SMS_CODE
    new_password: str = PASSWORD


class PhoneBinding(Payload):
    phone: str = PHONE
    code: str = SMS_CODE


class PasswordChange(Payload):
    current_password: str | None = Field(default=None, max_length=128)
    new_password: str = PASSWORD


class AccountOut(Schema):
    id: uuid.UUID
    username: str | None
    phone: str | None = Field(description="脱敏")
    real_name_status: str
    has_password: bool


class PatientSession(Schema):
    token: str
    expires_at: datetime
    is_new_account: bool
    account: AccountOut


class StaffSignInRequest(Payload):
    username: str = Field(min_length=1, max_length=40)
    password: str = PASSWORD
    totp_code: str | None = Field(default=None, max_length=10)


class TotpEnrolment(Payload):
    username: str = Field(min_length=1, max_length=40)
    password: str = PASSWORD
    totp_code: str = Field(min_length=6, max_length=10)


class StaffSummary(Schema):
    id: uuid.UUID
    name: str
    staff_number: str
    username: str
    roles: list[str]


class StaffSession(Schema):
    status: Literal["signed_in", "totp_enrolment_required"]
    token: str | None = None
    expires_at: datetime | None = None
    idle_timeout_seconds: int | None = None
    must_change_password: bool = False
    staff: StaffSummary
    totp_enrolment_uri: str | None = Field(
        default=None, description="用身份验证器扫描此地址后输入动态码完成绑定"
    )
    totp_enrolment_secret: str | None = None


class Me(Schema):
    kind: str
    id: uuid.UUID
    label: str | None
    roles: list[str]
    permissions: list[str]
    campus_ids: list[uuid.UUID] | None
    must_change_password: bool
    idle_timeout_seconds: int | None = None


class SessionOut(Schema):
    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    sign_in_method: str
    client_address: str | None
    user_agent: str | None
    is_current: bool


class SandboxCode(Schema):
    code: str
